/// Tests of the kernel's page tables: permissions per section, guard pages, mapping.
enum PagingTests {
  static var tests: [KernelTest] {
    [
      KernelTest("paging.active", active),
      KernelTest("paging.write_xor_execute", writeXorExecute),
      KernelTest("paging.null_and_guard_pages_unmapped", nullAndGuardPagesUnmapped),
      KernelTest("paging.map_unmap_split", mapUnmapSplit),
      KernelTest("paging.device_uncached", deviceUncached),
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
  static func mapUnmapSplit(_ t: inout TestContext) {
    let block =
      (KernelHeap.usableRegion.lowerBound + Paging.hugePageSize * 2) & ~(Paging.hugePageSize - 1)
    let page = block + 5 * Paging.pageSize
    guard t.expect(KernelHeap.usableRegion.contains(block + Paging.hugePageSize), "heap too small")
    else { return }
    let before = Paging.translate(page)?.flags
    Paging.unmap(page)
    t.expect(!Paging.isMapped(page), "\(hex: page) still mapped after unmap")
    t.expect(
      Paging.isMapped(page - 1) && Paging.isMapped(page + Paging.pageSize), "neighbours lost")
    Paging.map(page..<(page + Paging.pageSize), .kernelData)
    t.expect(Paging.translate(page)?.physical == page, "\(hex: page) not mapped back")
    t.expect(before?.contains(.writable) == true, "heap page was not writable")
    let pointer = UnsafeMutablePointer<UInt64>(bitPattern: UInt(page))!
    let saved = pointer.pointee
    pointer.pointee = 0x5357_4946_544C_4554
    t.expect(pointer.pointee == 0x5357_4946_544C_4554, "write through the new mapping lost")
    pointer.pointee = saved
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
