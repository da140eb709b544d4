/// A small set of interfaces with every kind of parameter and result, a domain that
/// serves them, and code that calls them through shadows: what the generated-code
/// tests generate from and compile.
import ProxyGeneratorCore

enum Demo {
  /// Clock: values, optionals, tuples, both result forms, idempotent methods.
  static let clock = """
    import SwiftletLib

    public struct Sample: Equatable, BitwiseCopyable {
      public var number: Int
      public init(number: Int) { self.number = number }
    }

    /// A clock to read and set.
    public protocol Clock {
      /// The time.
      ///
      /// - Idempotent: it only reads the clock.
      func now() -> Result<UInt64, RpcError>

      func set(to time: UInt64, _ pair: (Int, Int), optional: Int?) -> Result<Void, RpcError>

      /// - Idempotent: it only reads.
      func ticks() throws(RpcError) -> Int

      func reset() throws(RpcError)
    }
    """

  /// Store: moved and lent RRefs, RRef results, interface references, deques and arrays
  /// moved both ways, a lent array.
  static let store = """
    import SwiftletLib

    public protocol Store {
      func put(_ sample: consuming RRef<Sample>) -> Result<Int, RpcError>

      /// - Idempotent: it only reads the sample.
      func peek(_ sample: borrowing RRef<Sample>) -> Result<Sample, RpcError>

      func take() -> Result<RRef<Sample>, RpcError>

      func swap(_ sample: consuming RRef<Sample>) throws(RpcError) -> RRef<Sample>

      /// - Idempotent: it only reads.
      func peekThrowing(_ sample: borrowing RRef<Sample>) throws(RpcError) -> Sample

      func attach(_ clock: ClockProxy, label: Int) -> Result<ClockProxy?, RpcError>

      func submit(_ batch: consuming RRefDeque<Sample, 8>) -> Result<RRefDeque<Sample, 8>, RpcError>

      func fill(_ samples: consuming RRefArray<Sample, 4>) throws(RpcError) -> RRefArray<Sample, 4>

      /// - Idempotent: it only reads.
      func total(_ samples: borrowing RRefArray<Sample, 4>) -> Result<Int, RpcError>
    }
    """

  /// The domain that exports both: safe Swift, as every domain is.
  static let service = """
    import SwiftletInterfaces
    import SwiftletLib

    final class DemoService: Clock, Store {
      private var time: UInt64 = 0
      private var kept: RRef<Sample>? = nil
      private var clock: ClockProxy? = nil

      func now() -> Result<UInt64, RpcError> { .success(time) }

      func set(to time: UInt64, _ pair: (Int, Int), optional: Int?) -> Result<Void, RpcError> {
        self.time = time + UInt64(pair.0 + pair.1 + (optional ?? 0))
        return .success(())
      }

      func ticks() throws(RpcError) -> Int { Int(time) }

      func reset() throws(RpcError) { time = 0 }

      func put(_ sample: consuming RRef<Sample>) -> Result<Int, RpcError> {
        let number = sample.value.number
        kept = consume sample
        return .success(number)
      }

      func peek(_ sample: borrowing RRef<Sample>) -> Result<Sample, RpcError> { .success(sample.value) }

      func take() -> Result<RRef<Sample>, RpcError> {
        guard let sample = RRef(Sample(number: 1)) else { return .failure(.failed(code: 1)) }
        return .success(sample)
      }

      func swap(_ sample: consuming RRef<Sample>) throws(RpcError) -> RRef<Sample> { sample }

      func peekThrowing(_ sample: borrowing RRef<Sample>) throws(RpcError) -> Sample { sample.value }

      func attach(_ clock: ClockProxy, label: Int) -> Result<ClockProxy?, RpcError> {
        let old = self.clock
        self.clock = clock
        return .success(old)
      }

      func submit(_ batch: consuming RRefDeque<Sample, 8>) -> Result<RRefDeque<Sample, 8>, RpcError> {
        if let first = batch.popFront() {
          first.value.number += 1
          _ = batch.pushBack(first)
        }
        return .success(batch)
      }

      func fill(_ samples: consuming RRefArray<Sample, 4>) throws(RpcError) -> RRefArray<Sample, 4> {
        for index in 0..<samples.count { samples[index].number = index }
        return samples
      }

      func total(_ samples: borrowing RRefArray<Sample, 4>) -> Result<Int, RpcError> {
        var sum = 0
        for index in 0..<samples.count { sum += samples[index].number }
        return .success(sum)
      }
    }

    /// A caller's view: the shadows stand in for the interfaces.
    func callThroughShadows() -> Int {
      guard case .success(let clock) = ClockShadow.connect(),
        case .success(let storeProxy) = StoreProxy.connect()
      else { return 0 }
      let store = StoreShadow(storeProxy)
      var total = 0
      if case .success(let time) = clock.now() { total += Int(time) }
      total += (try? clock.ticks()) ?? 0
      guard let sample = RRef(Sample(number: 2)) else { return total }
      if case .success(let seen) = store.peek(sample) { total += seen.number }
      if case .success(let number) = store.put(sample) { total += number }
      if case .success(let taken) = store.take() { total += taken.value.number }
      guard let batch = RRefDeque<Sample, 8>(), let samples = RRefArray<Sample, 4>(repeating: Sample(number: 1))
      else { return total }
      if case .success(let back) = store.submit(batch) { total += back.count }
      if case .success(let sum) = store.total(samples) { total += sum }
      if let filled = try? store.fill(samples) { total += filled[3].number }
      return total + readTwice(clock)
    }

    /// Generic code takes a shadow or a proxy alike.
    func readTwice<C: Clock>(_ clock: C) -> Int {
      var sum = 0
      for _ in 0..<2 {
        if case .success(let time) = clock.now() { sum += Int(time) }
      }
      return sum
    }
    """

  static let files = [(path: "Clock.swift", source: clock), (path: "Store.swift", source: store)]

  static func interfaces() throws(GeneratorError) -> [Interface] {
    try InterfaceParser.parse(files: files)
  }

  static let manifest = DomainManifest(
    name: "demo", service: "DemoService", exports: ["Clock", "Store"], imports: ["Clock", "Store"],
    heapKiB: 64, budgetMilliseconds: 50)
}
