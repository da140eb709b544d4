/// Kernel command line parsing, and the value types' small behaviours.
import BootInfo
import Testing

@Suite struct KernelOptionsTests {
  @Test func emptyCommandLine() {
    let options = KernelOptions(parsing: "")
    #expect(options.testPattern == nil)
    #expect(options.quiet == false)
    #expect(options.warnings == [])
  }

  @Test func bootImagePathIsSkipped() {
    let options = KernelOptions(parsing: "/boot/swiftlet32.elf test=boot.* quiet")
    #expect(options.testPattern == "boot.*")
    #expect(options.quiet)
    #expect(options.warnings == [])
  }

  @Test func pathAfterTheFirstWordIsAWarning() {
    let options = KernelOptions(parsing: "quiet /boot/swiftlet.elf")
    #expect(options.quiet)
    #expect(options.warnings == ["unknown option '/boot/swiftlet.elf' ignored"])
  }

  @Test func firstWordWithSlashAndEqualsIsAnOption() {
    let options = KernelOptions(parsing: "test=heap/alloc")
    #expect(options.testPattern == "heap/alloc")
    #expect(options.warnings == [])
  }

  @Test func laterTestWins() {
    #expect(KernelOptions(parsing: "test=a test=b").testPattern == "b")
  }

  @Test func emptyTestIsAWarning() {
    let options = KernelOptions(parsing: "test=")
    #expect(options.testPattern == nil)
    #expect(options.warnings == ["option 'test=' needs a value"])
  }

  @Test func emptyTestKeepsAnEarlierPattern() {
    let options = KernelOptions(parsing: "test=all test=")
    #expect(options.testPattern == "all")
    #expect(options.warnings == ["option 'test=' needs a value"])
  }

  @Test func bareTestIsAWarning() {
    let options = KernelOptions(parsing: "test")
    #expect(options.testPattern == nil)
    #expect(options.warnings == ["option 'test' needs a value (test=<pattern>)"])
  }

  @Test func testPatternKeepsLaterEqualsSigns() {
    #expect(KernelOptions(parsing: "test=a=b").testPattern == "a=b")
  }

  @Test func unknownWordsAreWarningsInOrder() {
    let options = KernelOptions(parsing: "foo quiet bar=1 Quiet quiet=1")
    #expect(options.quiet)
    #expect(
      options.warnings == [
        "unknown option 'foo' ignored", "unknown option 'bar=1' ignored",
        "unknown option 'Quiet' ignored", "unknown option 'quiet=1' ignored",
      ])
  }

  @Test func tabsAndRunsOfSpacesSeparateWords() {
    let options = KernelOptions(parsing: "  \t/boot/k\t\ttest=x   quiet\t ")
    #expect(options.testPattern == "x")
    #expect(options.quiet)
    #expect(options.warnings == [])
  }

  @Test func optionsCompareByValue() {
    #expect(KernelOptions(parsing: "quiet test=a") == KernelOptions(parsing: "test=a\tquiet"))
    #expect(KernelOptions(parsing: "quiet") != KernelOptions(parsing: "quiet x"))
  }
}

@Suite struct ValueTypeTests {
  @Test func regionEnd() {
    #expect(MemoryRegion(start: 0x1000, length: 0x2000, kind: .available).end == 0x3000)
  }

  @Test func regionEndSaturatesInsteadOfTrapping() {
    #expect(MemoryRegion(start: 0x1000, length: .max, kind: .reserved).end == .max)
  }

  @Test func usableBytesCountsOnlyAvailableRegions() {
    let boot = BootInfo(
      bootProtocol: .multiboot2, bootLoaderName: "", commandLine: "",
      memoryMap: [
        MemoryRegion(start: 0, length: 0x1000, kind: .available),
        MemoryRegion(start: 0x1000, length: 0x1000, kind: .reserved),
        MemoryRegion(start: 0x2000, length: 0x1000, kind: .acpiReclaimable),
        MemoryRegion(start: 0x3000, length: 0x3000, kind: .available),
        MemoryRegion(start: 0x6000, length: 0x1000, kind: .defective),
      ], modules: [], infoRanges: [])
    #expect(boot.usableBytes == 0x4000)
  }

  @Test func usableBytesSaturates() {
    let huge = MemoryRegion(start: 0, length: 1 << 63, kind: .available)
    let boot = BootInfo(
      bootProtocol: .multiboot1, bootLoaderName: "", commandLine: "",
      memoryMap: [huge, huge, huge],
      modules: [], infoRanges: [])
    #expect(boot.usableBytes == .max)
  }
}

@Suite struct BenchOptionTests {
  @Test func benchRunsTheFullSet() {
    #expect(KernelOptions(parsing: "bench").bench == "full")
  }

  @Test func benchQuickRunsFewIterations() {
    let options = KernelOptions(parsing: "/boot/kernel bench=quick quiet")
    #expect(options.bench == "quick" && options.quiet && options.warnings.isEmpty)
  }

  @Test func noBenchByDefaultAndOtherValuesAreWarnings() {
    #expect(KernelOptions(parsing: "test=all").bench == nil)
    let options = KernelOptions(parsing: "bench=slow")
    #expect(options.bench == nil && options.warnings == ["unknown option 'bench=slow' ignored"])
  }

  @Test func faultsTakesSeedCountAndSeconds() {
    #expect(
      KernelOptions(parsing: "faults=42,300").faults
        == CampaignOptions(seed: 42, faults: 300, seconds: CampaignOptions.defaultSeconds))
    let options = KernelOptions(parsing: "faults=7,10000,120 quiet")
    #expect(options.faults == CampaignOptions(seed: 7, faults: 10000, seconds: 120))
    #expect(options.quiet && options.warnings.isEmpty)
    #expect(
      KernelOptions(parsing: "faults=7,100,600,1000,60").faults
        == CampaignOptions(seed: 7, faults: 100, seconds: 600, every: 1000, heartbeat: 60))
    #expect(
      KernelOptions(parsing: "faults=7,100,60,250").faults
        == CampaignOptions(seed: 7, faults: 100, seconds: 60, every: 250, heartbeat: 0))
  }

  @Test func malformedFaultsIsAWarningThatSaysWhy() {
    let cases: [(String, String)] = [
      ("faults=", "expected SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]"),
      ("faults=x,3", "the seed is not a decimal number"),
      ("faults=1,0", "the count must be a number from 1 to 10000000"),
      ("faults=1,5,0", "the seconds must be a number from 1 to 86400"),
      ("faults=1,5,6,x", "the milliseconds between faults must be a number from 0 to 3600000"),
      ("faults=1,5,6,7,86401", "the heartbeat seconds must be a number from 0 to 86400"),
      ("faults=1,5,6,7,8,9", "expected SEED,COUNT[,SECONDS[,EVERY[,HEARTBEAT]]]"),
    ]
    for (line, why) in cases {
      let options = KernelOptions(parsing: line)
      #expect(options.faults == nil)
      #expect(options.warnings == ["option 'faults=' ignored: \(why)"])
    }
  }
}
