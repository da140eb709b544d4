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
  /// Run the fault campaign, from `faults=SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]`.
  public var faults: CampaignOptions?
  /// One message per word ignored, naming it.
  public var warnings: [String]

  /// Parses a command line: words separated by spaces and tabs. A first word with a '/'
  /// and no '=' is the path of the boot image, which loaders put there under multiboot1,
  /// and is skipped.
  public init(parsing commandLine: String) {
    testPattern = nil
    quiet = false
    bench = nil
    faults = nil
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
      } else if word.starts(with: "faults=".utf8) {
        switch CampaignOptions.parse(word.dropFirst(7)) {
        case .success(let campaign): faults = campaign
        case .failure(let problem): warnings.append("option 'faults=' ignored: \(problem.message)")
        }
      } else {
        warnings.append("unknown option '\(String(decoding: word, as: UTF8.self))' ignored")
      }
    }
  }
}

/// What the fault campaign is asked to do: `faults=SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]`.
/// A soak (`make soak`) is a campaign paced to one fault every EVERY milliseconds, with a
/// memory heartbeat every HEARTBEAT seconds.
public struct CampaignOptions: Equatable, Sendable {
  /// Every choice the campaign makes follows from it, so a run replays.
  public var seed: UInt64
  /// Stop once this many faults have been activated.
  public var faults: Int
  /// Stop after this long, whatever the count (default 600: the ten minutes).
  public var seconds: Int
  /// At least this many milliseconds between one fault's start and the next's, across
  /// all lanes; 0: as fast as the lanes go.
  public var every: Int
  /// A `FAULTS heartbeat` line with the memory counters every this many seconds; 0: none.
  public var heartbeat: Int

  public static let defaultSeconds = 600

  public init(
    seed: UInt64, faults: Int, seconds: Int = defaultSeconds, every: Int = 0, heartbeat: Int = 0
  ) {
    self.seed = seed
    self.faults = faults
    self.seconds = seconds
    self.every = every
    self.heartbeat = heartbeat
  }

  /// Why a `faults=` value was not understood.
  public struct Problem: Error, Equatable {
    public let message: String
  }

  /// Parses `SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]`: decimal numbers, COUNT and
  /// SECONDS from 1 up, EVERY (milliseconds) and HEARTBEAT (seconds) from 0 up.
  public static func parse<Bytes: Collection<UInt8>>(_ value: Bytes) -> Result<
    CampaignOptions, Problem
  > {
    let parts = value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
    guard parts.count >= 2 && parts.count <= 5 else {
      return .failure(Problem(message: "expected SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]"))
    }
    let numbers = parts.map { UInt64(String(decoding: $0, as: UTF8.self)) }
    guard let seed = numbers[0] else {
      return .failure(Problem(message: "the seed is not a decimal number"))
    }
    guard let count = numbers[1], count >= 1, count <= 10_000_000 else {
      return .failure(Problem(message: "the count must be a number from 1 to 10000000"))
    }
    // The optional fields, in order: their names in messages, and their ranges.
    let optional: [(name: String, lowest: UInt64, highest: UInt64)] = [
      ("seconds", 1, 86_400), ("milliseconds between faults", 0, 3_600_000),
      ("heartbeat seconds", 0, 86_400),
    ]
    var values = [defaultSeconds, 0, 0]
    for (index, field) in optional.enumerated() where index + 2 < parts.count {
      guard let given = numbers[index + 2], given >= field.lowest, given <= field.highest else {
        return .failure(
          Problem(
            message: "the \(field.name) must be a number from \(field.lowest) to \(field.highest)"))
      }
      values[index] = Int(given)
    }
    let options = CampaignOptions(
      seed: seed, faults: Int(count), seconds: values[0], every: values[1], heartbeat: values[2])
    return .success(options)
  }
}
