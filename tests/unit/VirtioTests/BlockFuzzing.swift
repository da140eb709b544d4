/// What the virtio-blk fuzz target does with one input, and what the unit tests do with
/// each kept input: the block driver against the simulated device, the driver's calls and
/// the device's answers both decoded from the input. The device may complete honestly,
/// in any order, or break the protocol as the input says (a used id or length of its
/// choosing, a status left unwritten or written for a request it never did, a used index
/// that jumps, a completion repeated). What must hold whatever it does: every request
/// goes back to its submitter exactly once, with its own tag, only when the device is
/// done with it (or was reset); the driver never points the device outside its memory;
/// with an honest device and nothing written, every read that succeeds holds its block.
/// Shared by the libFuzzer target (tests/fuzz, `make fuzz`) and `BlockFuzzReplayTests`;
/// nothing here may import Testing.
///
/// An input is a set-up byte (bits 0-1: the queue size; bit 2: a read-only disk; bit 3:
/// the device completes when notified; bit 4: in reverse order), then operations, one
/// byte each followed by their arguments.
import FuzzSupport
import Registers
import Virtio

enum BlockFuzzing {
  /// Two blocks: each input makes its own disk, and every byte of it costs.
  static let sectors = 16
  static let bufferCount = 8

  /// A request the harness submitted and has not collected.
  struct Outstanding {
    let ticket: BlockTicket
    let tag: UInt64
    let request: Request
  }

  /// A request and the buffer it uses (none for a flush).
  struct Request {
    let request: VirtioBlockRequest
    let buffer: Int?
  }

  final class Harness {
    let bed: BlockTestBed
    var input: FuzzInput
    var outstanding: [Outstanding] = []
    /// Buffers a request in flight uses: never given to a second one.
    var busy = Set<Int>()
    /// Whether the device has answered only as the protocol says, and nothing was written:
    /// then every read that succeeds must hold its block.
    var honest = true
    var nextTag: UInt64 = 1
    var completions = 0
    /// Reads whose data was checked against the disk.
    var verifiedReads = 0

    init(_ data: [UInt8]) {
      input = FuzzInput(data)
      let setUp = input.byte()
      let device = SimulatedBlockDevice(sectors: BlockFuzzing.sectors)
      if setUp & 4 != 0 { device.offered.insert(.blockReadOnly) }
      device.completesOnNotify = setUp & 8 != 0
      device.completesInReverse = setUp & 16 != 0
      device.failingSectors = [UInt64(setUp >> 5)]
      do {
        let queueSize = [4, 8, 16, 128][Int(setUp & 3)]
        bed = try BlockTestBed(
          device, maximumQueueSize: queueSize, buffers: BlockFuzzing.bufferCount)
      } catch {
        preconditionFailure("the simulated device refused a driver: \(error)")
      }
    }

    var driver: Driver { bed.driver }
    var device: SimulatedBlockDevice { bed.device }

    func step() {
      switch input.below(14) {
      case 0, 1, 2: submit()
      case 3: driver.kick()
      case 4, 5: deviceStep()
      case 6: poll()
      case 7: collect()
      case 8: batch()
      case 9: _ = driver.interruptArrived()
      case 10:
        let running = driver.stopped == nil
        driver.stop(because: .timedOut)
        precondition(!running || bed.deviceWasReset, "stopping resets the device")
      case 11:
        device.breakDown()
        precondition(driver.deviceNeedsReset)
      default: misbehave()
      }
      check()
    }

    /// What holds after every step.
    func check() {
      precondition(device.memory.faults.isEmpty, "the device was pointed outside the memory")
      precondition(driver.requestsInFlight >= 0 && driver.uncollectedCount >= 0)
      precondition(driver.requestsInFlight + driver.uncollectedCount <= outstanding.count)
    }

    private func freeBuffer() -> Int? {
      let index = input.below(BlockFuzzing.bufferCount)
      return busy.contains(index) ? nil : index
    }

    private func request() -> Request? {
      let block = UInt64(input.below(Int(driver.blockCount) + 2))
      switch input.below(4) {
      case 0, 1:
        guard let buffer = freeBuffer() else { return nil }
        return Request(request: .read(block: block, into: region(buffer)), buffer: buffer)
      case 2:
        guard let buffer = freeBuffer() else { return nil }
        honest = false
        return Request(request: .write(block: block, from: region(buffer)), buffer: buffer)
      default:
        return Request(request: .flush, buffer: nil)
      }
    }

    /// A buffer's region; now and then one byte short, which the driver must refuse.
    private func region(_ index: Int) -> DMARegion {
      input.below(16) == 0
        ? bed.buffers.dmaRegion(at: index * 4096, count: 4095) : bed.region(index)
    }

    private func submit() {
      guard let request = request() else { return }
      let tag = nextTag
      nextTag += 1
      do throws(VirtioBlockError) {
        let ticket = try driver.submit(request.request, tag: tag)
        precondition(driver.stopped == nil)
        outstanding.append(Outstanding(ticket: ticket, tag: tag, request: request))
        if let buffer = request.buffer { busy.insert(buffer) }
      } catch {
        if let stopped = driver.stopped, error == stopped { return }
        switch (request.request, error) {
        case (.read(let block, _), .outOfRange), (.write(let block, _), .outOfRange):
          precondition(block >= driver.blockCount)
        case (.write, .readOnly): precondition(driver.isReadOnly)
        case (.flush, .unsupported): precondition(!driver.canFlush)
        case (_, .invalidBuffer), (_, .queueFull): break
        default: preconditionFailure("submit: \(error)")
        }
      }
    }

    /// The device at work: honest completions, or one broken as the input says first.
    private func deviceStep() {
      if input.below(4) == 0 { misbehave() }
      device.process(limit: 1 + input.below(4))
    }

    /// The device breaks the protocol, in one of the ways it can.
    private func misbehave() {
      honest = false
      switch input.below(6) {
      case 0:
        device.misbehaviour = .usedID(input.bool() ? UInt32(input.below(160)) : input.uint32())
      case 1: device.misbehaviour = .extraLength(input.uint32())
      case 2: device.misbehaviour = .statusNotWritten
      case 3: device.misbehaviour = .indexJump(input.uint16())
      case 4:
        // A reset device has no ring to write to.
        if device.queues[0].enabled { device.repeatLastCompletion() }
      default:
        // A status byte, then a used entry, for whatever id the input names: a request
        // the device never did, or none at all.
        guard device.queues[0].enabled else { return }
        let id = UInt32(input.below(driver.queueSize + 1))
        let status = queueMemoryAddress + UInt64(driver.layout.statuses) + UInt64(id)
        if Int(id) < driver.queueSize && input.bool() {
          device.memory.store8(input.byte() & 3, status)
        }
        device.publishUsed(0, id: id, length: input.uint32() & 0x1FFF, jump: UInt16(input.below(2)))
      }
    }

    private func poll() {
      do throws(VirtioBlockError) {
        guard let ticket = try driver.poll() else { return }
        precondition(outstanding.contains { $0.ticket == ticket }, "a completion names a request")
      } catch {
        precondition(driver.stopped == error, "a failed poll stops the driver")
      }
    }

    /// Collects one outstanding request, if the device is done with it.
    private func collect() {
      guard !outstanding.isEmpty else { return }
      let index = input.below(outstanding.count)
      let request = outstanding[index]
      guard let completion = driver.collect(request.ticket) else {
        precondition(driver.stopped == nil, "after a reset, every request is done")
        return
      }
      precondition(completion.ticket == request.ticket && completion.tag == request.tag)
      finished(request.request, completion.error)
      outstanding.remove(at: index)
    }

    /// A request is back: its buffer is free again, and a read that succeeded from an
    /// honest device holds its block.
    private func finished(_ request: Request, _ error: VirtioBlockError?) {
      completions += 1
      guard let buffer = request.buffer else { return }
      busy.remove(buffer)
      if honest, error == nil, case .read(let block, _) = request.request {
        precondition(bed.buffer(buffer) == device.block(Int(block)), "a read holds its block")
        verifiedReads += 1
      }
    }

    /// A batch waited for; the device works (or not) while the driver waits.
    private func batch() {
      let count = 1 + input.below(6)
      var requests: [Request?] = []
      for _ in 0..<count {
        let request = self.request()
        if let buffer = request?.buffer { busy.insert(buffer) }
        requests.append(request)
      }
      var reported = [Bool](repeating: false, count: count)
      var waits = 0
      do throws(VirtioBlockError) {
        try driver.perform(
          batchOf: count, request: { requests[$0]?.request },
          completed: { index, error in
            precondition(!reported[index], "a request of a batch reported twice")
            reported[index] = true
            if let request = requests[index] { finished(request, error) }
          },
          waiting: {
            waits += 1
            guard waits <= 8, input.bool() else { return false }
            deviceStep()
            return true
          })
      } catch {
        precondition(driver.stopped == error, "a batch throws why the driver stopped")
      }
      precondition(reported.allSatisfy { $0 }, "every request of a batch is reported")
    }

    /// At the end, the device reset: every request still out comes back, with an error.
    func finish() {
      driver.stop(because: .timedOut)
      for request in outstanding {
        guard let completion = driver.collect(request.ticket) else {
          preconditionFailure("a request lost after the device was reset")
        }
        precondition(completion.tag == request.tag)
        finished(request.request, completion.error)
      }
      outstanding = []
    }
  }

  /// Runs one input; traps if the driver breaks a rule. Returns the harness as the input
  /// left it.
  @discardableResult
  static func run(_ data: [UInt8]) -> Harness {
    let harness = Harness(data)
    while !harness.input.isAtEnd { harness.step() }
    harness.finish()
    return harness
  }
}
