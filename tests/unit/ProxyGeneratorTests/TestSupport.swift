/// What the generator's tests share: parsing a snippet, the message it is rejected
/// with, the parts of generated text a test looks at.
import ProxyGeneratorCore
import Testing

/// The interfaces in `source`, as if it were the file P.swift; `Other` is known as an
/// interface declared in another file.
func parse(_ source: String) throws(GeneratorError) -> [Interface] {
  try InterfaceParser.parse(source: source, file: "P.swift", interfaceNames: ["Other"])
}

/// A protocol P whose line 3 (and on) is `members`: line 2 is a method that is fine.
func protocolP(_ members: String) -> String {
  """
  protocol P {
    func fine() -> Result<Int, RpcError>
  \(members)
  }
  """
}

/// The message the parser rejects `source` with, as proxygen prints it; nil if it
/// accepts it.
func rejection(_ source: String) -> String? {
  do {
    _ = try parse(source)
    return nil
  } catch {
    return error.description
  }
}

/// The methods of the one interface in `source`.
func methods(_ source: String) throws -> [Method] {
  let interfaces = try parse(source)
  try #require(interfaces.count == 1)
  return interfaces[0].methods
}

extension String {
  /// The text from the line that contains `start` up to and including the next line
  /// that is exactly `end`: one declaration of generated code.
  func block(from start: String, to end: String = "  }") -> String? {
    guard let found = range(of: start) else { return nil }
    let lineStart =
      self[..<found.lowerBound].lastIndex(of: "\n").map { index(after: $0) } ?? startIndex
    guard let close = self[found.upperBound...].range(of: "\n" + end + "\n") else { return nil }
    return String(self[lineStart..<close.upperBound])
  }
}
