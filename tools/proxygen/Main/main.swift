// proxygen: generates the cross-domain wiring.
//
//   proxygen --interfaces domains/interfaces --manifest domains/manifest.json --output build/generated
//   proxygen --list domains/manifest.json        prints the domain names, one a line
//
// `--suite FILE` adds the domains of a second manifest (tests/hostile/manifest.json):
// checked together with the first (they may import its exports), and given entry
// points too, but kept out of it, so that a normal boot does not load them.
//
// Writes <output>/interfaces/Proxies.swift and <output>/<domain>/Exports.swift, only
// when their contents change (so make rebuilds only what is affected). Errors name the
// file and line and exit with status 1.
import Foundation
import ProxyGeneratorCore

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(1)
}

func argument(_ name: String) -> String? {
  guard let index = CommandLine.arguments.firstIndex(of: name),
    index + 1 < CommandLine.arguments.count
  else { return nil }
  return CommandLine.arguments[index + 1]
}

func writeIfChanged(_ text: String, to path: String) {
  let url = URL(fileURLWithPath: path)
  if let old = try? String(contentsOf: url, encoding: .utf8), old == text { return }
  do {
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  } catch {
    fail("proxygen: cannot write \(path): \(error)")
  }
}

do {
  if let manifestPath = argument("--list") {
    guard let data = FileManager.default.contents(atPath: manifestPath),
      let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
    else { fail("\(manifestPath):1: error: cannot read the manifest") }
    for domain in manifest.domains { print(domain.name) }
    exit(0)
  }
  guard let interfacesPath = argument("--interfaces"), let manifestPath = argument("--manifest"),
    let output = argument("--output")
  else { fail("usage: proxygen --interfaces DIR --manifest FILE --output DIR | --list FILE") }

  let files = try FileManager.default.contentsOfDirectory(atPath: interfacesPath)
    .filter { $0.hasSuffix(".swift") }.sorted()
  var sources: [(path: String, source: String)] = []
  for file in files {
    let path = interfacesPath + "/" + file
    sources.append((path, try String(contentsOfFile: path, encoding: .utf8)))
  }
  let interfaces = try InterfaceParser.parse(files: sources)
  guard let data = FileManager.default.contents(atPath: manifestPath) else {
    fail("\(manifestPath):1: error: cannot read the manifest")
  }
  var manifest = try Manifest.load(json: data, file: manifestPath, interfaces: interfaces)
  if let suitePath = argument("--suite") {
    guard let suiteData = FileManager.default.contents(atPath: suitePath) else {
      fail("\(suitePath):1: error: cannot read the manifest")
    }
    let suite: Manifest
    do {
      suite = try JSONDecoder().decode(Manifest.self, from: suiteData)
    } catch {
      fail("\(suitePath):1: error: not a valid manifest: \(error)")
    }
    try Manifest(domains: manifest.domains + suite.domains).check(
      file: suitePath, text: String(decoding: suiteData, as: UTF8.self), interfaces: interfaces)
    manifest = Manifest(domains: manifest.domains + suite.domains)
  }
  writeIfChanged(CodeGenerator.proxies(for: interfaces), to: "\(output)/interfaces/Proxies.swift")
  for domain in manifest.domains {
    writeIfChanged(
      CodeGenerator.exports(for: domain, interfaces: interfaces),
      to: "\(output)/\(domain.name)/Exports.swift")
  }
} catch let error as GeneratorError {
  fail(error.description)
} catch {
  fail("proxygen: \(error)")
}
