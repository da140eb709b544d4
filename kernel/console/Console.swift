/// Where the kernel's text goes: the serial console, one line at a time.
///
/// Writes "\r\n" for every newline so a raw terminal shows lines properly; the test
/// harness ignores the "\r".
enum Console {
  /// Bytes written since boot, newlines' "\r" included: what tests of the log's limits
  /// measure.
  nonisolated(unsafe) private(set) static var bytesWritten: UInt64 = 0

  static func write(_ byte: UInt8) {
    if byte == UInt8(ascii: "\n") {
      Serial.write(UInt8(ascii: "\r"))
      bytesWritten &+= 1
    }
    Serial.write(byte)
    bytesWritten &+= 1
  }

  static func write(_ line: TextLine) {
    for index in 0..<line.count { write(line[index]) }
    if line.truncated { for _ in 0..<3 { write(UInt8(ascii: ".")) } }
  }

  static func write(_ text: String) {
    for byte in text.utf8 { write(byte) }
  }

  /// Writes `line` and a newline, whole: a thread preempted half-way would let another
  /// thread's line into the middle of it.
  static func print(_ line: TextLine) {
    withInterruptsDisabled {
      write(line)
      write(UInt8(ascii: "\n"))
    }
  }
}
