/// Tests of the kernel's symbol table, which reports use to name functions.
enum SymbolTests {
  static var tests: [KernelTest] {
    [
      KernelTest("symbols.present", present),
      KernelTest("symbols.lookup", lookup),
    ]
  }

  static func present(_ t: inout TestContext) {
    guard let symbols = SymbolTable.kernel else {
      t.expect(false, "no .ksyms table linked in")
      return
    }
    t.expect(symbols.symbolCount > 100, "only \(symbols.symbolCount) symbols")
  }

  static func lookup(_ t: inout TestContext) {
    guard let symbols = SymbolTable.kernel, let kmain = symbols.address(of: "kmain") else {
      t.expect(false, "kmain not in the symbol table")
      return
    }
    guard let (name, offset) = symbols.lookup(kmain + 3) else {
      t.expect(false, "no symbol at kmain + 3")
      return
    }
    var found = TextLine()
    found.append(cString: name, limit: 32)
    t.expect(offset == 3, "offset \(offset), expected 3")
    ConsoleTests.expectText(&t, found, "kmain")
    t.expect(
      symbols.lookup(LinkerAddress.kernelStart.value - 1) == nil,
      "an address below the kernel resolved")
  }
}
