/// What the e1000 fuzz target does with one input, and what the unit tests do with each
/// kept input: the 82540EM driver against the simulated device, the driver's calls and
/// the device's answers both decoded from the input, through restarts on the same device
/// as the `e1000` domain makes them. The device may behave, or write back whatever
/// length, status and errors the input says, into the descriptor it is on or any other.
/// What must hold whatever it does: buffers come back in the order they were handed over,
/// each once; a frame's length lies between an Ethernet header and the buffer's size;
/// the driver never points the device outside its memory; the counters add up; and while
/// the device is honest, every frame received and sent arrives whole and in order.
/// Shared by the libFuzzer target (tests/fuzz, `make fuzz`) and `E1000FuzzReplayTests`;
/// nothing here may import Testing.
///
/// An input is a set-up byte (bits 0-1: the ring sizes; bit 2: transmits complete only
/// when the input says; bit 3: the MAC address comes from the EEPROM, whose three words
/// follow; bits 3-7 all set: the EEPROM does not answer), then operations, one byte each
/// followed by their arguments.
import E1000
import FuzzSupport
import Registers

enum E1000Fuzzing {
  static let bufferCount = 16
  static let bufferBytes = 2048
  static let ringAddress: UInt64 = 0x1000_0000
  static let bufferAddress: UInt64 = 0x2000_0000

  typealias Device = E1000Device<SimulatedE1000, ArrayDMAMemory>

  final class Harness {
    let device = SimulatedE1000()
    let rings: ArrayDMAMemory
    let buffers: ArrayDMAMemory
    let layout: E1000MemoryLayout
    var driver: Device
    var input: FuzzInput
    /// Buffers at the device, oldest first, and frames queued to send.
    var posted: [Int] = []
    var queued: [(buffer: Int, frame: [UInt8])] = []
    var busy = Set<Int>()
    /// While the device writes back only the truth: the frames it was given to receive
    /// that have not come back yet.
    var honest = true
    var arriving: [[UInt8]] = []
    var sending: [[UInt8]] = []
    var sentChecked = 0
    /// Set once the device was told to fail transmits (its right: collisions).
    var transmitsMayFail = false
    var restarts = 0
    /// Frames an honest device received and sent that were checked byte for byte.
    var verifiedFrames = 0
    var expected = E1000Counters()

    /// Nil if the driver refused the device (no MAC address), as it must for some.
    init?(_ data: [UInt8]) {
      input = FuzzInput(data)
      let setUp = input.byte()
      let size = [8, 16, 64, 8][Int(setUp & 3)]
      layout = E1000MemoryLayout(
        receiveRingSize: size, transmitRingSize: setUp & 3 == 3 ? 16 : size)!
      rings = ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: E1000Fuzzing.ringAddress)
      buffers = ArrayDMAMemory(
        byteCount: E1000Fuzzing.bufferCount * E1000Fuzzing.bufferBytes,
        deviceAddress: E1000Fuzzing.bufferAddress)
      device.memory.attach(rings)
      device.memory.attach(buffers)
      device.completesTransmitAtOnce = setUp & 4 == 0
      if setUp & 8 != 0 {
        device.set(SimulatedE1000.Offset.receiveAddressHigh, 0)
        device.eeprom = [input.uint16(), input.uint16(), input.uint16()]
      }
      // Rarely: the driver polls a silent EEPROM 10,000 times before it gives up.
      device.eepromAnswers = setUp & 0xF8 != 0xF8
      do throws(E1000Error) {
        driver = try Device(
          registers: E1000Registers(fitting: device)!, memory: rings, layout: layout)
      } catch {
        precondition(error == .noMACAddress && setUp & 8 != 0, "set-up failed: \(error)")
        return nil
      }
      expected.resets = 1
    }

    func step() {
      // A restart is rare: it programs the device again, the most a step can cost.
      switch input.below(32) {
      case 0...3: post()
      case 4, 5: driver.publishReceive()
      case 6...9: receiveFrame()
      case 10...13: takeReceived()
      case 14...16: queueTransmit()
      case 17, 18: driver.publishTransmit()
      case 19, 20: device.completeTransmits()
      case 21...23: takeTransmitted()
      case 24...26: misbehave()
      case 27, 28: waitForFrames()
      case 29: restart()
      default:
        device.busMaster = input.bool()
        device.linkUp = input.bool()
        _ = driver.linkUp
      }
      check()
    }

    func check() {
      precondition(device.faults.isEmpty, "the device was pointed outside the memory")
      precondition(driver.receiveBuffersPosted == posted.count)
      precondition(driver.transmitFramesQueued == queued.count)
      precondition(driver.receiveRoom == layout.receiveRingSize - 1 - posted.count)
      precondition(driver.transmitRoom == layout.transmitRingSize - 1 - queued.count)
      let counters = driver.counters
      precondition(
        counters.receivedFrames == expected.receivedFrames
          && counters.receivedBytes == expected.receivedBytes
          && counters.sentFrames == expected.sentFrames && counters.sentBytes == expected.sentBytes
          && counters.resets == 1, "the counters add up")
      while sentChecked < device.sent.count {
        let frame = device.sent[sentChecked]
        sentChecked += 1
        guard honest else { continue }
        precondition(!sending.isEmpty && frame == Self.padded(sending.removeFirst()), "sent whole")
        verifiedFrames += 1
      }
    }

    /// A frame as the device puts it on the wire, or in memory: at least 60 bytes.
    static func padded(_ frame: [UInt8]) -> [UInt8] {
      frame.count < 60 ? frame + [UInt8](repeating: 0, count: 60 - frame.count) : frame
    }

    private func freeBuffer() -> Int? {
      let index = input.below(E1000Fuzzing.bufferCount)
      return busy.contains(index) ? nil : index
    }

    private func region(_ buffer: Int, count: Int) -> DMARegion {
      buffers.dmaRegion(at: buffer * E1000Fuzzing.bufferBytes, count: count)
    }

    private func post() {
      guard let buffer = freeBuffer() else { return }
      let short = input.below(8) == 0
      let room = driver.receiveRoom
      let taken = driver.postReceive(
        region(buffer, count: short ? E1000Fuzzing.bufferBytes - 1 : E1000Fuzzing.bufferBytes))
      precondition(
        taken == (!short && room > 0), "a buffer is taken when it fits and there is room")
      guard taken else { return }
      posted.append(buffer)
      busy.insert(buffer)
    }

    private func receiveFrame() {
      let length = input.below(8) == 0 ? input.below(2100) : 14 + input.below(1501)
      let frame = testFrame(length: length, seed: input.byte())
      device.receive(frame)
      arriving.append(Self.padded(frame))
    }

    private func takeReceived() {
      guard let outcome = driver.takeReceived() else {
        precondition(posted.isEmpty || !driver.frameReady)
        return
      }
      precondition(!posted.isEmpty, "a buffer back from an empty ring")
      let buffer = posted.removeFirst()
      busy.remove(buffer)
      if case .frame(let length) = outcome {
        precondition(length >= 14 && length <= E1000Fuzzing.bufferBytes, "a frame fits its buffer")
        expected.receivedFrames += 1
        expected.receivedBytes += UInt64(length)
      }
      guard honest else { return }
      precondition(!arriving.isEmpty, "an honest device gave back a buffer it did not fill")
      let frame = Array(arriving.removeFirst().prefix(E1000Fuzzing.bufferBytes))
      precondition(outcome == .frame(length: frame.count), "an honest frame is taken whole")
      let start = buffer * E1000Fuzzing.bufferBytes
      precondition(Array(buffers.bytes[start..<start + frame.count]) == frame, "and intact")
      verifiedFrames += 1
    }

    private func queueTransmit() {
      guard let buffer = freeBuffer() else { return }
      let length = input.below(8) == 0 ? input.below(1600) : 14 + input.below(1501)
      let frame = testFrame(length: min(length, E1000Fuzzing.bufferBytes), seed: input.byte())
      buffers.write(frame, at: buffer * E1000Fuzzing.bufferBytes)
      let room = driver.transmitRoom
      let admission = driver.queueTransmit(region(buffer, count: frame.count))
      if frame.count < 14 || frame.count > 1514 {
        precondition(admission == .badLength)
      } else {
        precondition(admission == (room > 0 ? .queued : .noRoom))
      }
      guard admission == .queued else { return }
      queued.append((buffer, frame))
      sending.append(frame)
      busy.insert(buffer)
    }

    private func takeTransmitted() {
      guard let outcome = driver.takeTransmitted() else { return }
      precondition(!queued.isEmpty, "a frame back from an empty ring")
      let (buffer, frame) = queued.removeFirst()
      busy.remove(buffer)
      if outcome == .sent {
        expected.sentFrames += 1
        expected.sentBytes += UInt64(frame.count)
      }
      guard honest, !transmitsMayFail else { return }
      precondition(outcome == .sent, "an honest device sends")
    }

    /// The device writes back what the input says: for the next frames, or straight into
    /// what it writes of any descriptor (a receive descriptor's second half, a transmit
    /// descriptor's status), or fails its transmits.
    private func misbehave() {
      switch input.below(4) {
      case 0:
        device.writeBacks.append(
          SimulatedE1000.WriteBack(
            length: input.bool() ? input.uint16() : nil, status: input.bool() ? input.byte() : nil,
            errors: input.bool() ? input.byte() : nil))
      case 1:
        let descriptor = layout.receiveRing + input.below(layout.receiveRingSize) * 16
        var writeBack = input.bytes(8)
        writeBack += [UInt8](repeating: 0, count: 8 - writeBack.count)
        _ = device.memory.write(writeBack, to: E1000Fuzzing.ringAddress + UInt64(descriptor + 8))
      case 2:
        let descriptor = layout.transmitRing + input.below(layout.transmitRingSize) * 16
        _ = device.memory.write(
          [input.byte()], to: E1000Fuzzing.ringAddress + UInt64(descriptor + 12))
      default:
        // Collisions or an underrun: the device's right, not a lie.
        device.transmitErrorStatus = input.byte() & 0x0E
        transmitsMayFail = true
        return
      }
      honest = false
    }

    private func waitForFrames() {
      var now: UInt64 = 1_000
      var waits = 0
      let ready = driver.waitForFrames(
        timeoutNanoseconds: UInt64(input.below(4)) * 1_000, clock: { now },
        wait: { remaining in
          waits += 1
          precondition(remaining > 0 && waits <= 8, "a wait ends at its deadline")
          now += 1_000
          switch self.input.below(3) {
          case 0: return .timedOut
          case 1:
            self.receiveFrame()
            return .interrupted
          default: return .polled
          }
        })
      precondition(!ready || driver.frameReady, "ready means a frame is there")
    }

    /// A new driver on the same device and memory, as the domain starts one after a crash:
    /// every buffer is the caller's again, and the device is told nothing it held.
    private func restart() {
      do throws(E1000Error) {
        driver = try Device(
          registers: E1000Registers(fitting: device)!, memory: rings, layout: layout)
      } catch {
        preconditionFailure("a restart on the same device: \(error)")
      }
      // The rings are new and zeroed; frames the device kept for want of a buffer still
      // come, those in the old buffers are gone.
      posted = []
      queued = []
      busy = []
      arriving = device.queued
      sending = []
      device.writeBacks = []
      sentChecked = device.sent.count
      expected = E1000Counters()
      expected.resets = 1
      honest = true
      restarts += 1
    }
  }

  /// Runs one input; traps if the driver breaks a rule. Returns the harness as the input
  /// left it, or nil if the driver refused the device.
  @discardableResult
  static func run(_ data: [UInt8]) -> Harness? {
    guard let harness = Harness(data) else { return nil }
    while !harness.input.isAtEnd { harness.step() }
    return harness
  }
}
