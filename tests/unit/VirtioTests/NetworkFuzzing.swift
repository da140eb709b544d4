/// What the virtio-net fuzz target does with one input, and what the unit tests do with
/// each kept input: the network driver against the simulated device, the driver's calls
/// and the device's answers both decoded from the input, through resets and new drivers
/// on the same device as the `virtio_net` domain makes them. The device may behave, or
/// break the ring protocol as the input says (a used id or length of its choosing, a used
/// index that runs ahead, entries written by itself). What must hold whatever it does:
/// every id the driver gives back is a buffer it was handed and still held, once; a frame
/// length fits its buffer; the driver never points the device outside its memory; once
/// stopped it takes nothing more; and while the device is honest, every frame received
/// and sent arrives whole and in order. Shared by the libFuzzer target (tests/fuzz, `make
/// fuzz`) and `NetworkFuzzReplayTests`; nothing here may import Testing.
///
/// An input is a set-up byte (bits 0-1: the queue size; bit 2: the device sends when
/// notified; bit 3: it reports the link down), then operations, one byte each followed by
/// their arguments.
import FuzzSupport
import Registers
import Virtio

enum NetworkFuzzing {
  static let bufferCount = 16

  final class Harness {
    let bed: NetworkTestBed
    var driver: NetworkDriver
    var input: FuzzInput
    let queueSize: Int
    /// Receive buffers at the device, by id: the packet buffer and its length.
    var posted: [UInt16: (buffer: Int, length: Int)] = [:]
    /// Frames at the device, by id: the packet buffer.
    var queued: [UInt16: Int] = [:]
    var busy = Set<Int>()
    /// While the device has done only what the protocol says: the frames it was given to
    /// receive that have not come back yet, and the frames the driver queued, in order.
    var honest = true
    var arriving: [[UInt8]] = []
    var sending: [[UInt8]] = []
    var sentChecked = 0
    var received = 0
    /// Frames an honest device received and sent that were checked byte for byte.
    var verifiedFrames = 0

    init(_ data: [UInt8]) {
      input = FuzzInput(data)
      let setUp = input.byte()
      queueSize = [1, 2, 8, 16][Int(setUp & 3)]
      do {
        bed = try NetworkTestBed(maximumQueueSize: queueSize, buffers: NetworkFuzzing.bufferCount)
      } catch {
        preconditionFailure("the simulated device refused a driver: \(error)")
      }
      driver = bed.driver
      bed.device.sendsOnNotify = setUp & 4 != 0
      bed.device.setLink(up: setUp & 8 == 0)
    }

    var device: SimulatedNetworkDevice { bed.device }

    func step() {
      // A stop or a new driver is rare: each sets the device up again, the most a step
      // can cost.
      switch input.below(32) {
      case 0...3: post()
      case 4, 5: driver.publishReceive()
      case 6...9: receiveFrame()
      case 10...13: takeReceived()
      case 14...16: queueTransmit()
      case 17, 18: driver.publishTransmit()
      case 19, 20: device.sendQueued()
      case 21...23: takeTransmitted()
      case 24, 25: misbehave()
      case 26, 27: waitForFrames()
      case 28:
        driver.stop(because: .queueFull)
        dropBuffers()
      case 29: restart()
      default:
        _ = driver.interruptArrived()
        _ = driver.linkUp
      }
      check()
    }

    func check() {
      precondition(device.memory.faults.isEmpty, "the device was pointed outside the memory")
      checkSent()
      guard driver.stopped == nil else {
        precondition(driver.receiveRoom == 0 && driver.transmitRoom == 0 && !driver.frameReady)
        return
      }
      precondition(driver.receiveBuffersPosted == posted.count)
      precondition(driver.framesInFlight == queued.count)
      precondition(driver.receiveRoom + posted.count == driver.receiveCapacity)
      precondition(driver.transmitRoom + queued.count == driver.transmitCapacity)
    }

    private func freeBuffer() -> Int? {
      let index = input.below(NetworkFuzzing.bufferCount)
      return busy.contains(index) ? nil : index
    }

    private func post() {
      guard let buffer = freeBuffer() else { return }
      let length = [2060, 2060, 2060, 12 + 1513, 65537, 12 + 1514][input.below(6)]
      let region = bed.packets.dmaRegion(
        at: buffer * NetworkTestBed.stride + 4, count: min(length, NetworkTestBed.stride - 4))
      let room = driver.receiveRoom
      do throws(VirtioNetworkError) {
        let id = try driver.postReceive(region)
        precondition(posted[id] == nil, "an id given out twice")
        posted[id] = (buffer, region.byteCount)
        busy.insert(buffer)
      } catch {
        switch error {
        case .badBufferLength(let length):
          precondition(length < VirtioNetworkDevice<BarWindow, ArrayDMAMemory>.minimumReceiveBytes)
        case .queueFull: precondition(room == 0)
        default: precondition(error == driver.stopped, "post: \(error)")
        }
      }
    }

    private func receiveFrame() {
      let length = input.below(8) == 0 ? input.below(14) : 14 + input.below(1501)
      let seed = input.byte()
      let frame = testFrame(length: length, seed: seed)
      // Into a buffer now, or kept by the device until there is one.
      device.receive(frame)
      arriving.append(frame)
    }

    private func takeReceived() {
      do throws(VirtioNetworkError) {
        guard let buffer = try driver.takeReceived() else { return }
        guard let (index, length) = posted.removeValue(forKey: buffer.id) else {
          preconditionFailure("a receive id the device was not holding")
        }
        busy.remove(index)
        if let frameLength = buffer.frameLength {
          precondition(frameLength >= 14 && frameLength <= length - 12, "a frame fits its buffer")
          received += 1
        }
        guard honest else { return }
        precondition(!arriving.isEmpty, "an honest device gave back a buffer it did not fill")
        let frame = arriving.removeFirst()
        if frame.count < 14 {
          precondition(buffer.frameLength == nil, "a runt is no frame")
        } else {
          precondition(buffer.frameLength == frame.count)
          precondition(bed.frame(index, length: frame.count) == frame, "the frame arrives whole")
          verifiedFrames += 1
        }
      } catch {
        precondition(error == driver.stopped, "a failed take stops the driver")
        dropBuffers()
      }
    }

    private func queueTransmit() {
      guard let buffer = freeBuffer() else { return }
      let length = input.below(8) == 0 ? input.below(1600) : 14 + input.below(1501)
      let frame = testFrame(length: min(length, NetworkTestBed.frameBytes), seed: input.byte())
      bed.write(frame, into: buffer)
      let room = driver.transmitRoom
      do throws(VirtioNetworkError) {
        let id = try driver.queueTransmit(bed.region(buffer, frameLength: frame.count))
        precondition(queued[id] == nil, "an id given out twice")
        queued[id] = buffer
        busy.insert(buffer)
        sending.append(frame)
      } catch {
        switch error {
        case .badFrameLength(let length): precondition(length < 14 || length > 1514)
        case .queueFull: precondition(room == 0)
        default: precondition(error == driver.stopped, "queue: \(error)")
        }
      }
    }

    private func takeTransmitted() {
      do throws(VirtioNetworkError) {
        guard let id = try driver.takeTransmitted() else { return }
        guard let buffer = queued.removeValue(forKey: id) else {
          preconditionFailure("a transmit id the device was not holding")
        }
        busy.remove(buffer)
      } catch {
        precondition(error == driver.stopped, "a failed take stops the driver")
        dropBuffers()
      }
    }

    /// What an honest device sent is what was queued, in order.
    private func checkSent() {
      guard honest else { return }
      while sentChecked < device.sent.count {
        precondition(!sending.isEmpty && device.sent[sentChecked] == sending.removeFirst())
        sentChecked += 1
        verifiedFrames += 1
      }
    }

    private func misbehave() {
      honest = false
      let queue = input.below(2)
      switch input.below(4) {
      case 0:
        let id = input.bool() ? UInt32(input.below(queueSize + 2)) : input.uint32()
        device.misbehaviour = (queue, .usedID(id))
      case 1:
        device.misbehaviour = (
          queue, .length(input.bool() ? UInt32(input.uint16()) : input.uint32())
        )
      case 2: device.misbehaviour = (queue, .indexJump(input.uint16()))
      default:
        guard device.queues[queue].enabled else { return }
        device.publishUsed(
          queue, id: UInt32(input.below(queueSize + 1)), length: UInt32(input.uint16()),
          jump: UInt16(input.below(2)))
      }
    }

    /// A wait for frames, during which the device may deliver one.
    private func waitForFrames() {
      var now: UInt64 = 1_000
      var waits = 0
      let ready = driver.waitForFrames(
        timeoutNanoseconds: UInt64(input.below(4)) * 1_000, clock: { now },
        wait: { remaining in
          waits += 1
          precondition(remaining > 0 && waits <= 8, "a wait ends at its deadline")
          now += 1_000
          guard self.input.bool() else { return false }
          self.receiveFrame()
          return true
        })
      precondition(!ready || driver.frameReady, "ready means a frame is there")
    }

    /// The device was reset: every buffer is the caller's again.
    private func dropBuffers() {
      posted = [:]
      queued = [:]
      busy = []
      arriving = []
      sending = []
      sentChecked = device.sent.count
    }

    /// A new driver on the same device and memory, as the domain starts one after a
    /// reset, carrying the counters on.
    private func restart() {
      driver.stop(because: .queueFull)
      dropBuffers()
      device.misbehaviour = nil
      do throws(VirtioNetworkError) {
        driver = try NetworkDriver(
          transport: bed.transport, memory: bed.queueMemory, maximumQueueSize: queueSize,
          counters: driver.counters)
      } catch {
        preconditionFailure("a new driver on a reset device: \(error)")
      }
      honest = true
    }
  }

  /// Runs one input; traps if the driver breaks a rule. Returns the harness as the input
  /// left it.
  @discardableResult
  static func run(_ data: [UInt8]) -> Harness {
    let harness = Harness(data)
    while !harness.input.isAtEnd { harness.step() }
    return harness
  }
}
