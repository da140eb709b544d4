// Underscored attributes: hand-written linkage and compiler-internal switches.

@_silgen_name("swiftlet_kernel_panic")
func panic(_ code: Int)

@_extern(c, "memset")
func clear(_ value: Int32, _ count: Int) -> Int

@_cdecl("domain_entry")
func entry() -> Int { 0 }

@c(domain_exit)
func exit() -> Int { 1 }

@_section(".init_array") @_used
let hook = 0

@_unsafeInheritExecutor
func inherit() async {}
