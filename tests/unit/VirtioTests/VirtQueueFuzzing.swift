/// What the virtqueue fuzz target does with one input, and what the unit tests do with
/// each kept input: a split virtqueue driven by a sequence of operations the input
/// decodes, the driver's (add, publish, take used, release) and a device's that writes
/// whatever ids, lengths and indices the input says into the used ring. A model of what
/// the queue must do is kept beside it and compared after every step: each used entry is
/// accepted exactly when the ring protocol allows it, and once the device breaks the
/// protocol the queue stays failed. Shared by the libFuzzer target (tests/fuzz, `make
/// fuzz`) and `VirtQueueFuzzReplayTests`; nothing here may import Testing.
///
/// An input is the queue size (a power of two up to 256, from one byte), then operations,
/// one byte each (the operation) followed by its arguments.
import FuzzSupport
import Registers
import Virtio

enum VirtQueueFuzzing {
  static let bufferAddress: UInt64 = 0x1000_0000

  /// What the driver believes, kept apart from the queue.
  struct Model {
    let size: Int
    /// Chains added and not yet given back: their buffers.
    var atDevice: [UInt16: [VirtQueueBuffer]] = [:]
    /// Chains given back and not yet released: their descriptor counts.
    var returned: [UInt16: Int] = [:]
    var failed = false
    /// The driver's used index: entries taken so far.
    var usedIndex: UInt16 = 0
    var added: UInt16 = 0
    var published: UInt16 = 0
    /// Chains added, in order, that the device has not taken from the available ring.
    var availableHeads: [UInt16] = []
    /// Chains the queue gave back.
    var given = 0

    var descriptorsHeld: Int {
      atDevice.values.reduce(0) { $0 + $1.count } + returned.values.reduce(0, +)
    }

    static func writableBytes(_ buffers: [VirtQueueBuffer]) -> UInt64 {
      buffers.filter(\.deviceWritable).reduce(0) { $0 + UInt64($1.region.byteCount) }
    }
  }

  /// Runs one input; traps if the queue parts from the model. Returns the model as the
  /// input left it.
  @discardableResult
  static func run(_ data: [UInt8]) -> Model {
    var input = FuzzInput(data)
    let size = 1 << input.below(9)
    let layout = VirtQueueLayout(size: size)!
    let memory = ArrayDMAMemory(byteCount: layout.byteCount, deviceAddress: 0x4000_0000)
    let queue = try! VirtQueue(size: size, memory: memory)
    var device = RingDevice(queue)
    var model = Model(size: size)
    var taken: [UInt16] = []
    while !input.isAtEnd {
      switch input.below(10) {
      case 0: add(queue, &model, &input, device)
      case 1:
        let fresh = model.added != model.published
        let deviceAsksForQuiet = memory.load16(at: layout.usedRing) & 1 != 0
        precondition(queue.publish() == (fresh && !deviceAsksForQuiet), "notify when it helps")
        model.published = model.added
        precondition(device.publishedIndex == model.published, "publish shows every chain added")
      case 2:
        // A device that gives chains back without taking them falls behind the available
        // ring. `add` writes its ring entry at once, published or not, so the entries of
        // all but the last `size` chains added are overwritten: the device takes up where
        // the ring still holds what was published, if anywhere.
        let overwritten = min(
          model.availableHeads.count - size, Int(device.publishedIndex &- device.nextAvailable))
        if overwritten > 0 {
          device.nextAvailable &+= UInt16(overwritten)
          model.availableHeads.removeFirst(overwritten)
        }
        for head in device.takeAvailable() {
          precondition(head == model.availableHeads.first, "the device sees the chains added")
          model.availableHeads.removeFirst()
          taken.append(head)
        }
      case 3:
        // An honest completion of the oldest chain taken, if it is still at the device.
        guard !taken.isEmpty else { break }
        let head = taken.removeFirst()
        let writable = model.atDevice[head].map(Model.writableBytes) ?? 0
        device.use(UInt32(head), length: UInt32(UInt64(input.uint32()) % (writable + 1)))
      case 4:
        let id = input.bool() ? UInt32(input.below(size + 2)) : input.uint32()
        device.use(id, length: input.uint32(), publish: input.bool())
      case 5:
        device.setUsedIndex(
          input.bool() ? device.nextUsed &+ UInt16(input.below(4)) : input.uint16())
      case 6:
        if let chain = takeUsed(queue, &model, memory) {
          model.given += 1
          taken.removeAll { $0 == chain.id }
        }
      case 7:
        guard !model.returned.isEmpty else { break }
        let ids = model.returned.keys.sorted()
        let id = ids[input.below(ids.count)]
        queue.release(id)
        model.returned[id] = nil
      case 8:
        queue.suppressesInterrupts = input.bool()
        let deviceIndex = memory.load16(at: layout.usedRing + 2)
        precondition(queue.hasUsed == (!model.failed && deviceIndex != model.usedIndex))
      default:
        device.setNoNotify(input.bool())
      }
      precondition(queue.freeCount == size - model.descriptorsHeld, "descriptors are not lost")
      precondition(queue.chainsInFlight == model.atDevice.count)
      precondition((queue.failure != nil) == model.failed)
    }
    return model
  }

  private static func add(
    _ queue: VirtQueue<ArrayDMAMemory>, _ model: inout Model, _ input: inout FuzzInput,
    _ device: RingDevice
  ) {
    var buffers: [VirtQueueBuffer] = []
    for _ in 0..<1 + input.below(4) {
      let length =
        input.below(8) == 0 ? Int(input.uint32()) + Int(input.below(2)) << 32 : Int(input.uint16())
      let region = DMARegion(vouchedAddress: bufferAddress, byteCount: length)
      buffers.append(VirtQueueBuffer(region, deviceWritable: input.bool()))
    }
    // The queue's checks, in its order.
    var expected: VirtQueueError?
    if model.failed {
      expected = queue.failure.map { .deviceMisbehaved($0) }
    } else if buffers.count > queue.freeCount {
      expected = .full(needed: buffers.count, free: queue.freeCount)
    } else {
      var seenWritable = false
      for buffer in buffers {
        if buffer.region.byteCount > UInt32.max {
          expected = .chainTooLong
        } else if buffer.deviceWritable {
          seenWritable = true
        } else if seenWritable {
          expected = .readableAfterWritable
        }
        if expected != nil { break }
      }
      if expected == nil && Model.writableBytes(buffers) > UInt32.max { expected = .chainTooLong }
    }
    let nextID = queue.nextID
    do throws(VirtQueueError) {
      let id = try queue.add(buffers)
      precondition(expected == nil, "a chain the queue should have refused")
      precondition(id == nextID && Int(id) < model.size)
      precondition(model.atDevice[id] == nil && model.returned[id] == nil, "an id in use")
      model.atDevice[id] = buffers
      model.availableHeads.append(id)
      model.added &+= 1
      let chain = device.chain(id)
      precondition(chain.count == buffers.count, "the chain the device reads is the one added")
      for (index, (descriptor, buffer)) in zip(chain, buffers).enumerated() {
        let flags: UInt16 = (index < buffers.count - 1 ? 1 : 0) | (buffer.deviceWritable ? 2 : 0)
        precondition(
          descriptor.address == buffer.region.address
            && descriptor.length == UInt32(buffer.region.byteCount) && descriptor.flags == flags)
      }
    } catch {
      precondition(error == expected, "add: \(error)")
    }
  }

  /// `nextUsed`, and what the model says it must do: the device's used index against
  /// the driver's, then the entry's id and length against the chains at the device.
  private static func takeUsed(
    _ queue: VirtQueue<ArrayDMAMemory>, _ model: inout Model, _ memory: ArrayDMAMemory
  ) -> UsedChain? {
    let used = queue.layout.usedRing
    let deviceIndex = memory.load16(at: used + 2)
    let slot = Int(model.usedIndex) & (model.size - 1)
    let id = memory.load32(at: used + 4 + 8 * slot)
    let length = memory.load32(at: used + 8 + 8 * slot)
    let advance = deviceIndex &- model.usedIndex
    let expected: VirtQueueError.DeviceMisbehaviour?
    if model.failed {
      expected = queue.failure
    } else if deviceIndex == model.usedIndex {
      expected = nil
    } else if Int(advance) > model.atDevice.count {
      expected = .usedIndexTooFar(advance: advance, inFlight: model.atDevice.count)
    } else if id >= UInt32(model.size) {
      expected = .usedIDOutOfRange(id)
    } else if model.atDevice[UInt16(id)] == nil {
      expected = .usedIDNotInFlight(UInt16(id))
    } else if UInt64(length) > Model.writableBytes(model.atDevice[UInt16(id)]!) {
      let writable = UInt32(Model.writableBytes(model.atDevice[UInt16(id)]!))
      expected = .usedLengthTooLong(id: UInt16(id), length: length, writable: writable)
    } else {
      expected = nil
    }
    do throws(VirtQueueError) {
      let chain = try queue.nextUsed()
      precondition(expected == nil && !model.failed, "a used entry the queue should have refused")
      guard let chain else {
        precondition(deviceIndex == model.usedIndex, "a used entry the queue did not take")
        return nil
      }
      precondition(chain.id == UInt16(id) && chain.length == length)
      model.returned[chain.id] = model.atDevice[chain.id]!.count
      model.atDevice[chain.id] = nil
      model.usedIndex &+= 1
      return chain
    } catch {
      precondition(error == .deviceMisbehaved(expected!), "nextUsed: \(error)")
      model.failed = true
      return nil
    }
  }
}
