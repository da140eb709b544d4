/// The generated code compiles the way the build compiles domains: Embedded Swift for
/// the bare-metal target, strict memory safety, warnings as errors, against the real
/// trusted library in domains/lib.
///
/// The compiler runs to object code (`-c`), not just `-typecheck`: the checks that
/// matter most here, the move checker's "consumed more than once" among them, run
/// after type checking.
import Foundation
import ProxyGeneratorCore
import Testing

/// The repository's root, from this file's place in it (tests/unit/ProxyGeneratorTests).
let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

let swiftc = "/opt/swift/usr/bin/swiftc"

/// Makefile's DOMAIN_FLAGS, less optimization.
let domainFlags = [
  "-target", "x86_64-unknown-none-elf", "-enable-experimental-feature", "Embedded", "-wmo",
  "-parse-as-library", "-swift-version", "6", "-strict-memory-safety", "-Werror",
  "StrictMemorySafety", "-warnings-as-errors",
]

/// A scratch directory where the three modules of a domain build are compiled in turn:
/// SwiftletLib, SwiftletInterfaces (interfaces and proxies), the domain.
struct DomainBuild {
  let directory: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("proxygen-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(at: directory) }

  /// Writes `text` to `name` in the directory; its path.
  func write(_ text: String, to name: String) throws -> String {
    let url = directory.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  /// Compiles `sources` as module `module` to an object (and the module, unless it is
  /// the domain); the compiler's output if it fails, nil if it succeeds.
  func compile(
    _ module: String, _ sources: [String], emitModule: Bool = true, extraFlags: [String] = []
  ) throws -> String? {
    var arguments = domainFlags + extraFlags + ["-I", directory.path, "-module-name", module]
    if emitModule {
      arguments += [
        "-emit-module", "-emit-module-path",
        directory.appendingPathComponent("\(module).swiftmodule").path,
      ]
    }
    arguments += ["-c"] + sources + ["-o", directory.appendingPathComponent("\(module).o").path]
    let (status, text) = try run(swiftc, arguments)
    return status == 0 ? nil : "swiftc \(module) failed:\n\(text)"
  }

  /// SwiftletLib from domains/lib, and Packets from domains/lib/packets (the generated
  /// proxies import it: the network interfaces use its address types).
  func compileLibrary() throws -> String? {
    if let failure = try compile("Packets", try swiftFiles(in: "domains/lib/packets")) {
      return failure
    }
    return try compile(
      "SwiftletLib", try swiftFiles(in: "domains/lib"),
      extraFlags: ["-enable-experimental-feature", "Extern"])
  }

  private func swiftFiles(in folder: String) throws -> [String] {
    let directory = repositoryRoot.appendingPathComponent(folder)
    return try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { $0.hasSuffix(".swift") }.sorted().map { directory.appendingPathComponent($0).path }
  }

  /// SwiftletInterfaces: the interfaces in `files` (the demo's unless told) and `proxies`.
  func compileInterfaces(
    proxies: String, files: [(path: String, source: String)] = Demo.files
  ) throws -> String? {
    var sources: [String] = []
    for file in files { sources.append(try write(file.source, to: file.path)) }
    sources.append(try write(proxies, to: "Proxies.swift"))
    return try compile("SwiftletInterfaces", sources)
  }

  /// The demo domain: its service and `exports`, and `extra`, more of the domain's own
  /// source. Each compile has its own file names, so that tests may share a build.
  func compileDomain(exports: String, extra: String = "", object: String = "demo_domain")
    throws -> String?
  {
    var sources = [
      try write(Demo.service, to: "\(object)_DemoService.swift"),
      try write(exports, to: "\(object)_Exports.swift"),
    ]
    if !extra.isEmpty { sources.append(try write(extra, to: "\(object)_Extra.swift")) }
    return try compile(object, sources, emitModule: false)
  }
}

/// Runs `executable` with `arguments`: its exit status and its output (and errors).
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let output = Pipe()
  process.standardOutput = output
  process.standardError = output
  try process.run()
  let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  return (process.terminationStatus, text)
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: swiftc)))
struct EmbeddedCompileTests {
  @Test func proxiesShadowsAndExportsCompile() throws {
    let interfaces = try Demo.interfaces()
    let build = try DomainBuild()
    defer { build.remove() }
    if let failure = try build.compileLibrary() {
      Issue.record(
        "domains/lib does not build, so the generated code cannot be checked: \(failure)")
      return
    }
    let interfacesFailure = try build.compileInterfaces(
      proxies: CodeGenerator.proxies(for: interfaces))
    #expect(interfacesFailure == nil, "\(interfacesFailure ?? "")")
    let domainFailure = try build.compileDomain(
      exports: CodeGenerator.exports(for: Demo.manifest, interfaces: interfaces))
    #expect(domainFailure == nil, "\(domainFailure ?? "")")
  }

  /// The compile check above can fail: a shadow that retried a method after moving its
  /// RRef is refused, which is why the generator never writes one.
  @Test func retryingAMovedRRefDoesNotCompile() throws {
    let interfaces = try Demo.interfaces()
    let proxies = CodeGenerator.proxies(for: interfaces)
    let honest = """
            if restartCanHelp(error) { _ = self.proxy.recover() }
            return .failure(error)
          }
        }

        /// Idempotent: tried once more after a restart.
        public func peek(
      """
    let retrying = """
            guard restartCanHelp(error), self.proxy.recover() else { return .failure(error) }
            return self.proxy.put(sample)
          }
        }

        /// Idempotent: tried once more after a restart.
        public func peek(
      """
    try #require(proxies.contains(honest))
    let build = try DomainBuild()
    defer { build.remove() }
    if let failure = try build.compileLibrary() {
      Issue.record("domains/lib does not build: \(failure)")
      return
    }
    let failure = try build.compileInterfaces(
      proxies: proxies.replacingOccurrences(of: honest, with: retrying))
    #expect(
      failure?.contains("'sample' consumed more than once") == true, "\(failure ?? "compiled")")
  }

  /// What the parser cannot see, the compiler refuses: a struct that holds heap memory,
  /// as an argument or as a result.
  @Test(arguments: [
    ("func rename(_ named: Named) -> Result<Void, RpcError>", "_Namer_rename_Arguments"),
    ("func name() -> Result<Named, RpcError>", "_Namer_Results"),
    ("func name() throws(RpcError) -> (Int, Named?)", "_Namer_Results"),
  ])
  func heapMemoryDoesNotCompile(_ method: String, _ refusedIn: String) throws {
    let source = """
      import SwiftletLib

      public struct Named {
        public var name: String
      }

      public protocol Namer {
        \(method)
      }
      """
    let files = [(path: "Namer.swift", source: source)]
    let proxies = CodeGenerator.proxies(for: try InterfaceParser.parse(files: files))
    let build = try DomainBuild()
    defer { build.remove() }
    if let failure = try build.compileLibrary() {
      Issue.record("domains/lib does not build: \(failure)")
      return
    }
    let failure = try build.compileInterfaces(proxies: proxies, files: files)
    #expect(failure?.contains("BitwiseCopyable") == true, "\(failure ?? "compiled")")
    #expect(failure?.contains(refusedIn) == true, "\(failure ?? "compiled")")
  }
}
