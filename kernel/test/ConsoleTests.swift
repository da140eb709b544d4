/// Tests of the heap-free text formatting every report depends on.
enum ConsoleTests {
  static var tests: [KernelTest] {
    [
      KernelTest("console.decimal", decimal),
      KernelTest("console.hex", hex),
      KernelTest("console.truncation", truncation),
    ]
  }

  static func decimal(_ t: inout TestContext) {
    expectText(
      &t, "\(0) \(-42) \(UInt64.max) \(Int64.min)",
      "0 -42 18446744073709551615 -9223372036854775808")
  }

  static func hex(_ t: inout TestContext) {
    expectText(
      &t, "\(hex: 0) \(hex: 0xBEEF) \(hex: 0x1F, width: 4) \(hex: UInt64.max)",
      "0x0 0xbeef 0x001f 0xffffffffffffffff")
  }

  static func truncation(_ t: inout TestContext) {
    var line = TextLine()
    for _ in 0..<(TextLine.capacity + 10) { line.append(UInt8(ascii: "x")) }
    t.expect(line.count == TextLine.capacity, "count \(line.count) past capacity")
    t.expect(line.truncated, "overflow not flagged")
  }

  static func expectText(_ t: inout TestContext, _ line: TextLine, _ expected: StaticString) {
    var same = line.count == expected.utf8CodeUnitCount
    if same {
      for index in 0..<line.count where line[index] != expected.utf8Start[index] { same = false }
    }
    t.expect(same, "got '\(line)', expected '\(expected)'")
  }
}
