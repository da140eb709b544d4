/// The Internet checksum against RFC 1071's worked example and a plain implementation.
import Packets
import Testing

struct ChecksumTests {
  private func checksum(_ bytes: [UInt8], from offset: Int = 0, count: Int? = nil) -> UInt16 {
    var sum = InternetChecksum()
    sum.add(bytes.span, from: offset, count: count ?? bytes.count - offset)
    return sum.value
  }

  @Test func matchesRFC1071sExample() {
    // RFC 1071, section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    #expect(checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == ~UInt16(0xDDF2))
  }

  @Test func padsAnOddLastByteWithZero() {
    #expect(checksum([0x12, 0x34, 0x56]) == Wire.checksum([0x12, 0x34, 0x56, 0x00]))
    #expect(checksum([0xAB]) == ~UInt16(0xAB00))
  }

  @Test func agreesWithThePlainSumOnEveryLengthAndOffset() {
    var generator = SystemRandomNumberGenerator()
    for length in 0..<80 {
      let data = (0..<length + 3).map { _ in UInt8.random(in: 0...255, using: &generator) }
      for offset in 0..<3 {
        #expect(
          checksum(data, from: offset, count: length)
            == Wire.checksum(Array(data[offset..<offset + length])))
      }
    }
  }

  @Test func dataWithItsOwnChecksumIsValid() {
    var data: [UInt8] = [0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0]
    let sum = Wire.checksum(data)
    data[10] = UInt8(sum >> 8)
    data[11] = UInt8(sum & 0xFF)
    var total = InternetChecksum()
    total.add(data.span, from: 0, count: data.count)
    #expect(total.isValid)
    data[3] ^= 1
    var wrong = InternetChecksum()
    wrong.add(data.span, from: 0, count: data.count)
    #expect(!wrong.isValid)
  }
}
