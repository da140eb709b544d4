/// The kernel command line, parsed into the options the kernel acts on.
///
/// A mistyped option must not stop a boot, so nothing here is an error: a word the
/// kernel does not understand becomes a warning for the log, and the boot goes on.
/// Words are compared byte by byte, since the command line is ASCII in practice.
public struct KernelOptions: Equatable, Sendable {
  /// Which in-kernel tests to run, from `test=<pattern>`; the last one given wins.
  public var testPattern: String?
  /// Log only warnings and worse, from `quiet`.
  public var quiet: Bool
  /// Run the benchmarks: "full" from `bench`, "quick" from `bench=quick` (few
  /// iterations, for tests).
  public var bench: String?
  /// One message per word ignored, naming it.
  public var warnings: [String]

  /// Parses a command line: words separated by spaces and tabs. A first word with a '/'
  /// and no '=' is the path of the boot image, which loaders put there under multiboot1,
  /// and is skipped.
  public init(parsing commandLine: String) {
    testPattern = nil
    quiet = false
    bench = nil
    warnings = []
    let words = commandLine.utf8.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    for (index, word) in words.enumerated() {
      if index == 0 && word.contains(UInt8(ascii: "/")) && !word.contains(UInt8(ascii: "=")) {
        continue
      }
      if word.starts(with: "test=".utf8) {
        let pattern = word.dropFirst(5)
        if pattern.isEmpty {
          warnings.append("option 'test=' needs a value")
        } else {
          testPattern = String(decoding: pattern, as: UTF8.self)
        }
      } else if word.elementsEqual("test".utf8) {
        warnings.append("option 'test' needs a value (test=<pattern>)")
      } else if word.elementsEqual("quiet".utf8) {
        quiet = true
      } else if word.elementsEqual("bench".utf8) {
        bench = "full"
      } else if word.elementsEqual("bench=quick".utf8) {
        bench = "quick"
      } else {
        warnings.append("unknown option '\(String(decoding: word, as: UTF8.self))' ignored")
      }
    }
  }
}
