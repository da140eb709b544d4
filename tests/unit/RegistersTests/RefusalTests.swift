/// What the compiler refuses: writing a read-only register or field, reading a
/// write-only one, clearing what is not write-1-to-clear. Each snippet is type-checked
/// against the Registers module and this folder's test device, and must fail with the
/// diagnostic expected; a snippet of allowed uses must pass, so that a broken harness
/// cannot pass as refusals.
import Foundation
import Testing

/// Registers built once as a host module, as the Makefile builds it.
private let registersModule = buildLibraries(
  [Library(name: "Registers", folder: "domains/lib/registers", inDevicePackage: true)], .host)

/// Type-checks `body` inside a function, beside the test device; nil if it compiles.
private func typeCheck(_ body: String) throws -> String? {
  try typeCheck(
    """
    import Registers
    func snippet() {
      let device = TestDevice(window: ArrayWindow(byteCount: 32), base: 0)
      var control = device.control.read()
      \(body)
      _ = (device, control)
    }
    """, against: registersModule.get(), with: ["tests/unit/RegistersTests/TestRegisters.swift"],
    .host)
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: swiftc)))
struct RefusalTests {
  @Test func allowedUsesCompile() throws {
    let failure = try typeCheck(
      """
      control[.enable] = true
      control[.threshold] = 3
      control.set(.trigger)
      _ = control[.pending] + control[.threshold]
      _ = control[.overrun]
      device.control.write(control)
      device.control.modify { $0[.enable] = false }
      device.control.clear(.linkChanged)
      device.doorbell.write(1)
      _ = device.identifier.read()
      """)
    #expect(failure == nil, "\(failure ?? "")")
  }

  static let refusals: [(code: String, diagnostic: String)] = [
    ("device.identifier.write(1)", "has no member 'write'"),
    ("_ = device.doorbell.read()", "has no member 'read'"),
    ("device.counter.write(1)", "has no member 'write'"),
    ("control[.pending] = 1", "get-only"),
    ("control[.overrun] = false", "get-only"),
    ("control.set(.pending, to: 1)", "WritableAccess"),
    ("control.set(.linkChanged)", "WritableAccess"),
    ("_ = control[.trigger]", "ReadableAccess"),
    ("device.control.clear(.enable)", "WriteOneToClear"),
  ]

  @Test(arguments: refusals)
  func misuseDoesNotCompile(code: String, diagnostic: String) throws {
    let failure = try typeCheck(code)
    #expect(failure?.contains("error:") == true, "\(code) compiled")
    #expect(failure?.contains(diagnostic) == true, "\(code): \(failure ?? "")")
  }
}
