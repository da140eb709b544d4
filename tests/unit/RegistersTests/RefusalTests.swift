/// What the compiler refuses: writing a read-only register or field, reading a
/// write-only one, clearing what is not write-1-to-clear. Each snippet is type-checked
/// against the Registers module and this folder's test device, and must fail with the
/// diagnostic expected; a snippet of allowed uses must pass, so that a broken harness
/// cannot pass as refusals.
import Foundation
import Testing

/// The repository's root, from this file's place in it (tests/unit/RegistersTests).
private let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

private let swiftc = "/opt/swift/usr/bin/swiftc"

/// Registers built once as a host module in a scratch directory: its path, or the
/// compiler's complaint.
private let registersModule: Result<URL, CompileFailure> = {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("registers-\(UUID().uuidString)")
  let sources = repositoryRoot.appendingPathComponent("domains/lib/registers")
  do {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let files = try FileManager.default.contentsOfDirectory(atPath: sources.path)
      .filter { $0.hasSuffix(".swift") }.map { sources.appendingPathComponent($0).path }
    let output = try run(
      [
        "-parse-as-library", "-module-name", "Registers", "-emit-module", "-emit-module-path",
        directory.appendingPathComponent("Registers.swiftmodule").path,
      ] + files)
    if let output { return .failure(CompileFailure(output: output)) }
    return .success(directory)
  } catch {
    return .failure(CompileFailure(output: "\(error)"))
  }
}()

private struct CompileFailure: Error { let output: String }

/// Runs swiftc; nil if it succeeds, else what it printed.
private func run(_ arguments: [String]) throws -> String? {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: swiftc)
  process.arguments = arguments
  let output = Pipe()
  process.standardOutput = output
  process.standardError = output
  try process.run()
  let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  return process.terminationStatus == 0 ? nil : text
}

/// Type-checks `body` inside a function, beside the test device; nil if it compiles.
private func typeCheck(_ body: String) throws -> String? {
  let module = try registersModule.get()
  let snippet = module.appendingPathComponent("Snippet-\(UUID().uuidString).swift")
  try """
  import Registers
  func snippet() {
    let device = TestDevice(window: ArrayWindow(byteCount: 32), base: 0)
    var control = device.control.read()
    \(body)
    _ = (device, control)
  }
  """.write(to: snippet, atomically: true, encoding: .utf8)
  defer { try? FileManager.default.removeItem(at: snippet) }
  let testDevice = repositoryRoot.appendingPathComponent(
    "tests/unit/RegistersTests/TestRegisters.swift")
  return try run(["-typecheck", "-I", module.path, testDevice.path, snippet.path])
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
