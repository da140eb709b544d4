/// The ELF fuzz target's seed: a tiny domain, built and linked the way domains are (Embedded
/// Swift, `ld.lld -shared`), so that the fuzzer starts from an image with a real linker's
/// layout (text, relro, data and .bss segments, a SysV hash table, RELATIVE, R_X86_64_64 and
/// JUMP_SLOT relocations) a few kilobytes long, where a real domain's is hundreds.
/// tests/fuzz/make_seeds.py builds it; nothing runs it.
@_extern(c, "posix_memalign") func allocate(
  _ pointer: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> CInt
@_extern(c, "swiftlet_release") func releaseMemory(_ pointer: UnsafeMutableRawPointer?)
@_extern(c, "swiftlet_log") func log(_ text: UnsafePointer<UInt8>, _ count: Int)

let greetings: [StaticString] = ["hello", "from", "a", "seed"]
nonisolated(unsafe) var handlers: [@convention(c) (Int) -> Int] = [twice, thrice]
nonisolated(unsafe) var release: @convention(c) (UnsafeMutableRawPointer?) -> Void =
  releaseMemory

@_cdecl("twice") func twice(_ value: Int) -> Int { value * 2 }
@_cdecl("thrice") func thrice(_ value: Int) -> Int { value * 3 }

@_cdecl("swiftlet_export_Seed")
public func entry(_ value: Int) -> Int {
  var memory: UnsafeMutableRawPointer? = nil
  _ = allocate(&memory, 16, 64)
  release(memory)
  let text = greetings[value & 3]
  log(text.utf8Start, text.utf8CodeUnitCount)
  return handlers[value & 1](value)
}
