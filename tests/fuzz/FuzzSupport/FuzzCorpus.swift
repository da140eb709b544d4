/// The inputs kept for each fuzz target, for the unit tests to replay: its seeds
/// (tests/fuzz/corpus/<target>) and every input that ever made it fail
/// (tests/fuzz/regressions/<target>). Host only: the fuzz targets themselves are built
/// without this file.
import Foundation

public enum FuzzCorpus {
  /// tests/fuzz.
  private static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The target's kept inputs as "corpus/<file>" and "regressions/<file>", sorted.
  public static func names(of target: String) -> [String] {
    ["corpus", "regressions"].flatMap { folder in
      let path = root.appendingPathComponent(folder).appendingPathComponent(target).path
      return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
        .filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }
  }

  /// The bytes of kept input `name` (as `names` gives it) of `target`; empty if there
  /// is no such file, which the replay tests' count checks catch.
  public static func bytes(of target: String, _ name: String) -> [UInt8] {
    let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { return [] }
    let url = root.appendingPathComponent(parts[0]).appendingPathComponent(target)
      .appendingPathComponent(parts[1])
    return FileManager.default.contents(atPath: url.path).map { Array($0) } ?? []
  }
}
