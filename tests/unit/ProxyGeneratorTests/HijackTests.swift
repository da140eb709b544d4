/// A hostile domain's declarations against the generated glue and the trusted library,
/// compiled as the build compiles domains: each attack either fails to build (by the
/// compiler or by scripts/lint-domains.py, with a message naming the rule) or builds
/// without reaching the glue.
import Foundation
import ProxyGeneratorCore
import Testing

/// SwiftletLib and the demo's SwiftletInterfaces, built once for all the attacks.
let hijackBuild: Result<DomainBuild, HijackSetUpFailure> = {
  do {
    let build = try DomainBuild()
    if let failure = try build.compileLibrary() { return .failure(HijackSetUpFailure(failure)) }
    let proxies = CodeGenerator.proxies(for: try Demo.interfaces())
    if let failure = try build.compileInterfaces(proxies: proxies) {
      return .failure(HijackSetUpFailure(failure))
    }
    return .success(build)
  } catch {
    return .failure(HijackSetUpFailure("\(error)"))
  }
}()

struct HijackSetUpFailure: Error {
  let message: String
  init(_ message: String) { self.message = message }
}

@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: swiftc)))
struct HijackTests {
  let exports: String

  init() throws {
    exports = CodeGenerator.exports(for: Demo.manifest, interfaces: try Demo.interfaces())
  }

  /// Compiles the demo domain with `attack` added to its source; the compiler's output
  /// if it fails, nil if it builds.
  func compile(_ attack: String, as object: String) throws -> String? {
    let build = try hijackBuild.mapError { $0 as any Error }.get()
    return try build.compileDomain(exports: exports, extra: attack, object: object)
  }

  /// What scripts/lint-domains.py says about `attack` as a domain file: its output, and
  /// whether it refused it.
  func lint(_ attack: String, as name: String) throws -> (refused: Bool, output: String) {
    let build = try hijackBuild.mapError { $0 as any Error }.get()
    let path = try build.write(attack, to: "\(name).swift")
    let lint = repositoryRoot.appendingPathComponent("scripts/lint-domains.py").path
    let (status, output) = try run("/usr/bin/env", ["python3", lint, path])
    return (status == 1, output)
  }

  /// The symbols the function `function` of `object`.o refers to (its relocations).
  func references(of function: String, in object: String) throws -> [String] {
    let build = try hijackBuild.mapError { $0 as any Error }.get()
    let object = build.directory.appendingPathComponent("\(object).o").path
    let text = try run("/opt/swift/usr/bin/llvm-objdump", ["-dr", "--no-show-raw-insn", object])
      .output
    guard let start = text.range(of: "<\(function)>:\n") else { return [] }
    let body = text[start.upperBound...]
    let end = body.range(of: "\n\n")?.lowerBound ?? body.endIndex
    return body[..<end].split(separator: "\n").compactMap { line in
      guard line.contains("R_X86_64_") else { return nil }
      return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.map {
        String($0.split(separator: "-")[0].split(separator: "+")[0])
      }
    }
  }

  @Test func theDemoBuildsAsItIs() throws {
    let failure = try compile("", as: "plain")
    #expect(failure == nil, "\(failure ?? "")")
  }

  /// A protocol of the interface's name, with another result: the service conforms to
  /// it instead of the real one, and the entry points refuse it.
  @Test func aLocalProtocolIsNotTheInterface() throws {
    let attack = """
      import SwiftletLib
      protocol Clock {
        func now() -> Result<UInt64, RpcError>
        func set(to time: UInt64, _ pair: (Int, Int), optional: Int?) -> Result<Void, RpcError>
        func ticks() throws(RpcError) -> Int
        func reset() throws(RpcError)
      }
      """
    let failure = try compile(attack, as: "local_protocol")
    #expect(
      failure?.contains(
        "global function '_Clock_now_entry' requires that 'DemoService' conform to 'Clock'")
        == true, "\(failure ?? "compiled")")
  }

  /// A DomainCall of the domain's own, whose `address(of:)` would hand the kernel any
  /// address: the glue does not use it, so the domain builds and its entry table still
  /// holds only its entry points.
  @Test func aLocalDomainCallIsNotUsed() throws {
    let attack = """
      enum DomainCall {
        static func address<F>(of entry: F) -> UInt { 0xffff_8000_0010_0000 }
        static func reply<V>(_ value: V) -> UInt64 { 0 }
      }
      """
    let failure = try compile(attack, as: "local_domain_call")
    try #require(failure == nil, "\(failure ?? "")")
    let called = try references(of: "swiftlet_domain_entries", in: "local_domain_call")
    #expect(!called.isEmpty)
    #expect(!called.contains { $0.contains("DomainCall") }, "\(called)")
  }

  /// An argument struct of the generated name, far bigger than the real one: the glue
  /// reads the arguments with SwiftletInterfaces' own, which no domain can name, and the
  /// lint refuses the declaration anyway (names starting with `_` are reserved).
  @Test func aLocalArgumentStructIsNotUsed() throws {
    let attack = """
      struct _Store_put_Arguments {
        var padding: InlineArray<48, Int>
      }
      """
    let failure = try compile(attack, as: "local_arguments")
    #expect(failure == nil, "\(failure ?? "")")
    #expect(!exports.contains("_Arguments"))
    let lint = try lint(attack, as: "LocalArguments")
    #expect(lint.refused)
    #expect(lint.output.contains("a declaration named `_Store_put_Arguments`"), "\(lint.output)")
  }

  /// Standard types the glue uses redefined (those the demo service does not use
  /// itself): the glue names Swift's own.
  @Test func localStandardTypesAreNotUsed() throws {
    let attack = """
      typealias UInt8 = Int64
      typealias StaticString = Int8
      typealias UnsafeRawPointer = Int8
      typealias UnsafeMutableRawPointer = Int8
      typealias UnsafeMutablePointer<T> = [T]
      """
    let failure = try compile(attack, as: "local_standard_types")
    #expect(failure == nil, "\(failure ?? "")")
  }

  /// A type named like a module would take over the glue's qualified names: the
  /// compiler lets it (it builds), the lint refuses it, naming the rule.
  @Test(arguments: ["SwiftletLib", "SwiftletInterfaces", "Swift"])
  func aTypeNamedLikeAModuleIsRefused(_ module: String) throws {
    let attack = """
      enum \(module) {
        static func fillExportTable<A, B, C>(_ table: A, _ capacity: B, _ entries: C) -> Int { 99 }
      }
      """
    let lint = try lint(attack, as: "Module\(module)")
    #expect(lint.refused)
    #expect(
      lint.output.contains("a declaration named `\(module)` is not allowed in domain code"),
      "\(lint.output)")
    #expect(lint.output.contains("named like a module"), "\(lint.output)")
  }

  /// What would forge a shared-heap reference or an interface handle out of a number:
  /// none of it builds in domain code.
  @Test(arguments: [
    ("RRef<RRefTransfer<RRef<UInt>>?>(nil)", "rref_of_transfer"),
    ("RRef<UInt>(adopting: RRef<UInt>(1)!.lend(), from: -1)", "adopt_a_loan"),
    (
      "RRefArray<RRefTransfer<RRef<UInt>>?, 2>(repeating: nil)",
      "array_of_transfer"
    ),
    ("RRef<InterfaceHandle?>(nil)", "rref_of_handle"),
    ("RRef<UInt>(1)!.transfer()", "transfer"),
    ("ClockProxy(handle: InterfaceHandle(rawValue: 7))", "proxy_from_number"),
    ("InterfaceHandle.connect(\"Store\")", "connect_by_name"),
  ])
  func forgingDoesNotBuild(_ expression: String, _ name: String) throws {
    let attack = """
      import SwiftletInterfaces
      import SwiftletLib
      func forge() { _ = \(expression) }
      """
    let failure = try compile(attack, as: "forge_\(name)")
    let refused =
      failure?.contains("expression uses unsafe constructs but is not marked with 'unsafe'")
      == true || failure?.contains("is inaccessible due to 'internal' protection level") == true
    #expect(refused, "\(failure ?? "compiled")")
  }

  /// A domain thread that shares the service's plain state with calls: a data race, which
  /// no longer builds.
  @Test func aThreadCannotShareNonSendableState() throws {
    let attack = """
      import SwiftletLib
      final class Tally { var count = 0 }
      func race() -> Int {
        let tally = Tally()
        _ = DomainThread.spawn { tally.count += 1 }
        tally.count += 1
        return tally.count
      }
      """
    let failure = try compile(attack, as: "thread_race")
    #expect(
      failure?.contains(
        "capture of 'tally' with non-Sendable type 'Tally' in a '@Sendable' closure")
        == true, "\(failure ?? "compiled")")
  }
}
