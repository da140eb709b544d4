/// The kernel log: console lines with a level, filtered by a threshold.
///
/// `quiet` on the command line raises the threshold to warnings. Test results and
/// exception reports are not log lines: they are printed whatever the threshold.
enum LogLevel: Int, Comparable {
  case debug, info, warning, error

  static func < (left: LogLevel, right: LogLevel) -> Bool { left.rawValue < right.rawValue }

  var label: StaticString {
    switch self {
    case .debug: "debug"
    case .info: "info"
    case .warning: "warning"
    case .error: "error"
    }
  }
}

enum Log {
  nonisolated(unsafe) static var threshold = LogLevel.info

  static func debug(_ line: TextLine) { write(.debug, line) }
  static func info(_ line: TextLine) { write(.info, line) }
  static func warning(_ line: TextLine) { write(.warning, line) }
  static func error(_ line: TextLine) { write(.error, line) }

  static func write(_ level: LogLevel, _ line: TextLine) {
    guard level >= threshold else { return }
    // One line, not two writes another thread's line could land between.
    withInterruptsDisabled {
      Console.write("[\(level.label)] ")
      Console.print(line)
    }
  }
}
