/// Frame-pointer backtraces, printed with symbol names.
///
/// Swift keeps frame pointers (rbp) in every function, so each frame starts with the
/// caller's rbp and the return address. The walk only follows frame pointers that are
/// aligned, mapped and move up the stack, so a corrupt chain ends the walk instead of
/// faulting.
enum Backtrace {
  static let maximumDepth = 24

  /// Prints "#0 <pc>" and then the callers found from `framePointer`.
  static func print(pc: UInt64, framePointer: UInt64) {
    Console.print("backtrace:")
    printFrame(0, pc)
    var rbp = framePointer
    var depth = 1
    while depth < maximumDepth, isPlausibleFrame(rbp) {
      let frame = UnsafePointer<UInt64>(bitPattern: UInt(rbp))!
      let returnAddress = frame[1]
      if returnAddress == 0 { break }
      // A return address points after the call; name the call itself.
      printFrame(depth, returnAddress - 1)
      let next = frame[0]
      if next <= rbp { break }
      rbp = next
      depth += 1
    }
  }

  static func printFrame(_ depth: Int, _ address: UInt64) {
    var line: TextLine = "  #\(depth) \(hex: address, width: 16)"
    appendSymbol(address, to: &line)
    Console.print(line)
  }

  /// Appends "  name + 0xoffset" when the address is inside a known function.
  static func appendSymbol(_ address: UInt64, to line: inout TextLine) {
    guard let symbols = SymbolTable.kernel, let (name, offset) = symbols.lookup(address) else {
      return
    }
    line.append("  ")
    line.append(cString: name, limit: 160)
    line.append(" + ")
    line.append(hex: offset)
  }

  static func isPlausibleFrame(_ rbp: UInt64) -> Bool {
    rbp & 7 == 0 && rbp >= LinkerAddress.kernelStart.value && Paging.isMapped(rbp)
      && Paging.isMapped(rbp + 8)
  }
}
