/// Tests of the kernel's page tables: permissions per section, guard pages, mapping.
enum PagingTests {
  static var tests: [KernelTest] {
    [
      KernelTest("paging.active", active),
      KernelTest("paging.write_xor_execute", writeXorExecute),
      KernelTest("paging.null_and_guard_pages_unmapped", nullAndGuardPagesUnmapped),
      KernelTest("paging.map_unmap_split", mapUnmapSplit),
      KernelTest("paging.device_uncached", deviceUncached),
      KernelTest("paging.ram_in_small_pages", ramInSmallPages),
    ]
  }

  static func active(_ t: inout TestContext) {
    t.expect(
      Paging.root != 0 && CPU.cr3 == Paging.root, "cr3 \(hex: CPU.cr3) is not the kernel's tables")
  }

  static func writeXorExecute(_ t: inout TestContext) {
    let regions: [(StaticString, UInt64, writable: Bool, executable: Bool)] = [
      ("text", LinkerAddress.textStart.value + 0x40, false, true),
      ("rodata", LinkerAddress.rodataStart.value, false, false),
      ("data", LinkerAddress.dataStart.value, true, false),
      ("boot stack", LinkerAddress.bootStackTop.value - 8, true, false),
      ("symbols", LinkerAddress.symbolsStart.value, false, false),
      ("heap", KernelHeap.usableRegion.lowerBound + 0x10_0000, true, false),
    ]
    for (name, address, writable, executable) in regions {
      guard let (physical, flags) = Paging.translate(address) else {
        t.expect(false, "\(name) at \(hex: address) is unmapped")
        continue
      }
      t.expect(physical == address, "\(name) is not identity-mapped")
      t.expect(flags.contains(.writable) == writable, "\(name) writable should be \(writable)")
      t.expect(
        !flags.contains(.noExecute) == executable, "\(name) executable should be \(executable)")
    }
  }

  static func nullAndGuardPagesUnmapped(_ t: inout TestContext) {
    t.expect(!Paging.isMapped(0) && !Paging.isMapped(0xFFF), "page 0 is mapped")
    t.expect(Paging.isMapped(0x1000), "page 1 is not mapped")
    let guardPage = LinkerAddress.bootStackBottom.value - Paging.pageSize
    t.expect(!Paging.isMapped(guardPage), "the boot stack's guard page is mapped")
    t.expect(
      Paging.isMapped(LinkerAddress.bootStackBottom.value), "the boot stack's bottom is unmapped")
    t.expect(GuardPages.owner(of: guardPage + 100) != nil, "the guard page has no owner")
    t.expect(
      !Paging.isMapped(LinkerAddress.interruptStack2.value - 1), "the page-fault stack has no guard"
    )
  }

  /// Unmapping one 4 KiB page inside a 2 MiB page splits it; the neighbours stay mapped.
  /// The block is in the PCI hole below 4 GiB, where no RAM is; it is never accessed.
  static func mapUnmapSplit(_ t: inout TestContext) {
    let block: UInt64 = 0xC000_0000
    let page = block + 5 * Paging.pageSize
    t.expect(!Paging.isMapped(block), "\(hex: block) is already in use")
    Paging.map(block..<(block + Paging.hugePageSize), .device)
    t.expect(Paging.translate(page)?.flags.contains(.huge) == true, "not mapped as a 2 MiB page")
    Paging.unmap(page)
    t.expect(!Paging.isMapped(page), "\(hex: page) still mapped after unmap")
    t.expect(Paging.translate(page - 1)?.physical == page - 1, "the page below was lost")
    t.expect(
      Paging.translate(page + Paging.pageSize)?.physical == page + Paging.pageSize,
      "the page above was lost")
    t.expect(
      Paging.translate(page - 1)?.flags.contains(.cacheDisabled) == true,
      "split pages lost their flags")
    var address = block
    while address < block + Paging.hugePageSize {
      Paging.unmap(address)
      address += Paging.pageSize
    }
    t.expect(
      !Paging.isMapped(block) && !Paging.isMapped(block + Paging.hugePageSize - 1),
      "block not unmapped")
  }

  /// RAM is mapped in 4 KiB pages, so guard pages never split anything.
  static func ramInSmallPages(_ t: inout TestContext) {
    for address in [LinkerAddress.kernelEnd.value, KernelHeap.usableRegion.lowerBound] {
      t.expect(
        Paging.translate(address)?.flags.contains(.huge) == false,
        "\(hex: address) is in a 2 MiB page")
    }
  }

  static func deviceUncached(_ t: inout TestContext) {
    let localAPIC: UInt64 = 0xFEE0_0000
    Paging.mapDevice(localAPIC..<(localAPIC + 0x1000))
    guard let (_, flags) = Paging.translate(localAPIC) else {
      t.expect(false, "device page not mapped")
      return
    }
    t.expect(
      flags.contains(.cacheDisabled) && flags.contains(.noExecute),
      "device page is cached or executable")
  }
}
