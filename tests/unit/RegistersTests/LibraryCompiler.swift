/// The compiler run by hand, for tests of what it refuses: builds library modules into a
/// scratch directory as the Makefile does (the same module boundaries and package
/// membership), then type-checks a snippet of driver code against them.
import Foundation

/// The repository's root, from this file's place in it (tests/unit/RegistersTests).
let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

let swiftc = "/opt/swift/usr/bin/swiftc"

struct CompileFailure: Error { let output: String }

/// One library module: its folder under the repository and how the Makefile builds it.
struct Library {
  let name: String
  let folder: String
  /// Built with `-package-name` (Makefile: DEVICE_PACKAGE).
  var inDevicePackage = false
  /// Built with the Extern feature (Makefile: LIB_FLAGS).
  var declaresKernelCalls = false

  static let devicePackage = "SwiftletDeviceAccess"
}

/// Host modules, or Embedded ones for the domains' target with the domains' flags.
enum CompileMode {
  case host
  case embedded

  var flags: [String] {
    switch self {
    case .host: ["-parse-as-library"]
    case .embedded:
      [
        "-target", "x86_64-unknown-none-elf", "-enable-experimental-feature", "Embedded", "-wmo",
        "-parse-as-library", "-swift-version", "6", "-strict-memory-safety", "-Werror",
        "StrictMemorySafety",
      ]
    }
  }
}

/// Builds `libraries`, in order, into a new scratch directory: its path, or the
/// compiler's complaint.
func buildLibraries(_ libraries: [Library], _ mode: CompileMode) -> Result<URL, CompileFailure> {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("libraries-\(UUID().uuidString)")
  do {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for library in libraries {
      let folder = repositoryRoot.appendingPathComponent(library.folder)
      let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        .filter { $0.hasSuffix(".swift") }.sorted().map { folder.appendingPathComponent($0).path }
      var arguments = mode.flags + ["-I", directory.path, "-module-name", library.name]
      if library.inDevicePackage { arguments += ["-package-name", Library.devicePackage] }
      if library.declaresKernelCalls { arguments += ["-enable-experimental-feature", "Extern"] }
      arguments += [
        "-emit-module", "-emit-module-path",
        directory.appendingPathComponent("\(library.name).swiftmodule").path,
      ]
      if let output = try runCompiler(arguments + files) {
        return .failure(CompileFailure(output: output))
      }
    }
    return .success(directory)
  } catch {
    return .failure(CompileFailure(output: "\(error)"))
  }
}

/// Type-checks `source`, with `files` beside it, against the modules in `directory`,
/// outside the device package as a domain is; nil if it compiles, else what swiftc said.
func typeCheck(
  _ source: String, against directory: URL, with files: [String] = [], _ mode: CompileMode
) throws -> String? {
  let snippet = directory.appendingPathComponent("Snippet-\(UUID().uuidString).swift")
  try source.write(to: snippet, atomically: true, encoding: .utf8)
  defer { try? FileManager.default.removeItem(at: snippet) }
  let paths = files.map { repositoryRoot.appendingPathComponent($0).path }
  return try runCompiler(
    mode.flags + ["-typecheck", "-I", directory.path] + paths + [snippet.path])
}

/// Runs swiftc; nil if it succeeds, else what it printed.
private func runCompiler(_ arguments: [String]) throws -> String? {
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
