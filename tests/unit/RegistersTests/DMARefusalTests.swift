/// What a driver domain cannot compile: a DMA region made from a number, widened, or
/// taken from an RRef it does not own by any route but the trusted one; a device buffer
/// or block request given a raw address. The libraries are built in Embedded Swift as
/// separate modules with the Makefile's flags and package membership (Registers and
/// DeviceAccess in the device package, Virtio and SwiftletLib outside it), and each
/// snippet is type-checked as a driver domain's code is: outside the package, with
/// strict memory safety as errors.
import Foundation
import Testing

private let driverLibraries = buildLibraries(
  [
    Library(name: "Registers", folder: "domains/lib/registers", inDevicePackage: true),
    Library(name: "Virtio", folder: "domains/lib/virtio"),
    Library(name: "SwiftletLib", folder: "domains/lib", declaresKernelCalls: true),
    Library(
      name: "DeviceAccess", folder: "domains/lib/device", inDevicePackage: true,
      declaresKernelCalls: true),
  ], .embedded)

/// Type-checks `body` inside a driver's function given an RRef and a DMA buffer, after
/// `declarations`; nil if it compiles.
private func typeCheck(_ body: String, after declarations: String = "") throws -> String? {
  try typeCheck(
    """
    import DeviceAccess
    import Registers
    import SwiftletLib
    import Virtio
    \(declarations)
    func driver(_ request: borrowing RRef<UInt64>, _ buffer: DMABuffer) {
      \(body)
    }
    """, against: driverLibraries.get(), .embedded)
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: swiftc)))
struct DMARefusalTests {
  @Test func regionsFromOwnedMemoryCompile() throws {
    let failure = try typeCheck(
      """
      let whole = buffer.dmaRegion
      _ = whole.subregion(at: 16, count: 16)
      _ = buffer.dmaRegion(at: 0, count: 8)
      _ = VirtQueueBuffer.readable(whole)
      _ = whole.address + UInt64(whole.byteCount)
      if let region = request.dmaRegion {
        _ = VirtioBlockRequest.write(block: 0, from: region)
      }
      """)
    #expect(failure == nil, "\(failure ?? "")")
  }

  static let refusals: [(code: String, declarations: String, diagnostic: String)] = [
    (
      "_ = DMARegion(vouchedAddress: 0x1000, byteCount: 4096)", "",
      "inaccessible due to 'package' protection level"
    ),
    (
      "_ = ArrayDMAMemory(byteCount: 4096, deviceAddress: 0x1000)", "",
      "inaccessible due to 'package' protection level"
    ),
    // Inside an extension the package initializer is not even found.
    (
      "",
      "extension DMARegion { init(at a: UInt64) { self.init(vouchedAddress: a, byteCount: 1) } }",
      "extra arguments"
    ),
    (
      "",
      "extension DMARegion { init(at a: UInt64) { self = .init(vouchedAddress: a, byteCount: 1) } }",
      "extra arguments"
    ),
    ("var region = buffer.dmaRegion\nregion.address = 0\n_ = region", "", "'let' constant"),
    ("_ = unsafeBitCast((UInt64(0x1000), 4096), to: DMARegion.self)", "", "unsafe"),
    ("_ = VirtQueueBuffer.readable(0x1000, length: 4096)", "", "error:"),
    ("_ = VirtQueueBuffer(address: 0x1000, length: 4096, deviceWritable: true)", "", "error:"),
    ("_ = VirtioBlockRequest.read(block: 0, into: 0x1000)", "", "'DMARegion'"),
    ("_ = request.deviceAddress", "", "has no member 'deviceAddress'"),
    ("_ = request.ownedStorage", "", "unsafe"),
    ("", "final class Mine: ArrayWindow {}", "cannot inherit from non-open class"),
  ]

  @Test(arguments: refusals)
  func forgingARegionDoesNotCompile(code: String, declarations: String, diagnostic: String) throws {
    let failure = try typeCheck(code, after: declarations)
    #expect(failure?.contains("error:") == true, "\(code)\(declarations) compiled")
    #expect(failure?.contains(diagnostic) == true, "\(code)\(declarations): \(failure ?? "")")
  }
}
