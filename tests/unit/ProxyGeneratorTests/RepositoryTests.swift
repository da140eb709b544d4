/// The repository's own interfaces and manifest pass the generator's checks, and the
/// Idempotent markers sit where they belong.
import Foundation
import ProxyGeneratorCore
import Testing

@Suite struct RepositoryTests {
  let interfaces: [Interface]

  init() throws {
    let folder = repositoryRoot.appendingPathComponent("domains/interfaces")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".swift") }.sorted()
    interfaces = try InterfaceParser.parse(
      files: try names.map { name in
        let path = folder.appendingPathComponent(name).path
        return (path: path, source: try String(contentsOfFile: path, encoding: .utf8))
      })
  }

  func method(_ interface: String, _ name: String) throws -> Method {
    let found = try #require(interfaces.first { $0.name == interface }, "no interface \(interface)")
    return try #require(found.methods.first { $0.name == name }, "no method \(interface).\(name)")
  }

  @Test func manifestFitsTheInterfaces() throws {
    let path = repositoryRoot.appendingPathComponent("domains/manifest.json").path
    let data = try #require(FileManager.default.contents(atPath: path))
    let manifest = try Manifest.load(json: data, file: path, interfaces: interfaces)
    #expect(!manifest.domains.isEmpty)
  }

  @Test(arguments: [
    ("Greeter", "ping", true), ("Greeter", "greet", false), ("Counter", "value", true),
    ("Counter", "increment", false), ("Crasher", "echo", true), ("Crasher", "callsServed", true),
    ("Crasher", "crash", false), ("TestClient", "greetMany", false),
  ])
  func idempotentMethods(_ interface: String, _ name: String, _ idempotent: Bool) throws {
    #expect(try method(interface, name).isIdempotent == idempotent)
  }
}
