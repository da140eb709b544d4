/// The in-kernel test runner: `test=<pattern>` on the command line runs the matching
/// tests, prints one line each and a closing count, and leaves QEMU with the verdict.
///
/// Output (DESIGN.md, "Testing and measuring"): `TEST <name> ... ok` or
/// `TEST <name> ... FAIL <why>`, then `N passed, N failed`. A pattern is a
/// comma-separated list of: `all` (every test except the `selftest` group, whose tests
/// crash the kernel on purpose, the `pcidisk` and `block` groups, which need a boot
/// with the test disk, `--disk`, the `blockslow` and `blockdelay` groups, which need a
/// slow disk, `--slow-disk`, the `net` and `e1000` groups, which need a NIC on QEMU's user
/// network, and the `hostile` group, which needs the hostile suite's domains too,
/// `--suite hostile`), a group (`heap` runs `heap.*`), a full name, or a prefix ending in `*`.

/// One in-kernel test: a name "<group>.<name>" and the function that runs it.
struct KernelTest {
  let name: StaticString
  let body: (inout TestContext) -> Void

  init(_ name: StaticString, _ body: @escaping (inout TestContext) -> Void) {
    self.name = name
    self.body = body
  }

  var nameString: String { name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }
}

/// What a running test records: its first failure.
struct TestContext {
  private(set) var failure: TextLine?

  /// Records `why` as the failure unless `condition` holds. Returns `condition`.
  @discardableResult
  mutating func expect(_ condition: Bool, _ why: @autoclosure () -> TextLine) -> Bool {
    if !condition && failure == nil { failure = why() }
    return condition
  }
}

enum TestRunner {
  /// Every test the kernel has, grouped by subsystem.
  static func allTests() -> [KernelTest] {
    BootTests.tests + ConsoleTests.tests + HeapTests.tests + TrapTests.tests
      + SymbolTests.tests + PagingTests.tests + InterruptTests.tests + SchedulerTests.tests
      + StackRoomTests.tests
      + DomainTests.tests + DomainThreadTests.tests + RRefTests.tests + RRefBatchTests.tests
      + RRefCheckTests.tests + AdoptionTests.tests + QuotaTests.tests + LifecycleTests.tests
      + FaultTests.tests
      + PCITests.tests + BlockTests.tests + SlowBlockTests.tests + NetworkDeviceTests.tests
      + E1000DriverTests.tests
      + HostileTests.tests
      + SelfTests.tests
  }

  /// Runs the tests `pattern` selects and leaves QEMU with the result.
  static func run(pattern: String) -> Never {
    let tests = allTests()
    let unmatched = pattern.split(separator: ",").filter { item in
      !tests.contains { matches($0.nameString, Substring(item)) }
    }
    for item in unmatched {
      Console.print("error: test pattern '\(String(item))' matches no test")
    }
    var passed = 0
    var failed = 0
    for test in tests where selected(test.nameString, by: pattern) {
      var context = TestContext()
      test.body(&context)
      if let failure = context.failure {
        Console.print("TEST \(test.name) ... FAIL \(failure)")
        failed += 1
      } else {
        Console.print("TEST \(test.name) ... ok")
        passed += 1
      }
    }
    Console.print("\(passed) passed, \(failed) failed")
    Machine.exit(failed == 0 && unmatched.isEmpty ? .success : .failure)
  }

  /// Groups `all` leaves out: tests that crash the kernel, and tests that need a disk,
  /// a NIC or the hostile suite.
  static let notInAll = [
    "selftest.", "pcidisk.", "block.", "blockslow.", "blockdelay.", "net.", "e1000.", "hostile.",
  ]

  static func selected(_ name: String, by pattern: String) -> Bool {
    pattern.split(separator: ",").contains { matches(name, $0) }
  }

  static func matches(_ name: String, _ item: Substring) -> Bool {
    if item == "all" { return !notInAll.contains { name.hasPrefix($0) } }
    if item.hasSuffix("*") { return name.hasPrefix(item.dropLast()) }
    return name == item || name.hasPrefix(item + ".")
  }
}
