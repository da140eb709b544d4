/// The kernel's page tables: one address space, identity-mapped, with permissions.
///
/// boot/entry.asm starts the kernel on a coarse map of the first 4 GiB (2 MiB pages,
/// everything writable and executable). `Paging.setUp` replaces it with tables that
/// say what each page is for: kernel text read-only and executable, read-only data
/// read-only, data and all other memory writable but never executable (W^X), page 0
/// unmapped so null dereferences fault, and an unmapped guard page below every stack.
/// Memory-mapped devices are mapped uncached on request (`mapDevice`).
///
/// Physical and virtual addresses are equal everywhere, so the tables themselves (frames
/// from `Frames`) are reached through their physical addresses. RAM is mapped in 4 KiB
/// pages; `map` can use 2 MiB pages for large device ranges, and changing one 4 KiB page
/// inside such a page first splits it into 512 small pages.

import Memory

/// Page-table entry bits (Intel SDM vol. 3, 4.5).
struct PageFlags: OptionSet {
  let rawValue: UInt64

  static let present = PageFlags(rawValue: 1 << 0)
  static let writable = PageFlags(rawValue: 1 << 1)
  static let writeThrough = PageFlags(rawValue: 1 << 3)
  static let cacheDisabled = PageFlags(rawValue: 1 << 4)
  static let huge = PageFlags(rawValue: 1 << 7)
  static let noExecute = PageFlags(rawValue: 1 << 63)

  static var kernelCode: PageFlags { [.present] }
  static var kernelReadOnly: PageFlags { [.present, .noExecute] }
  static var kernelData: PageFlags { [.present, .writable, .noExecute] }
  static var device: PageFlags {
    [.present, .writable, .noExecute, .cacheDisabled, .writeThrough]
  }
}

enum Paging {
  static let pageSize: UInt64 = 4096
  static let hugePageSize: UInt64 = 2 << 20
  private static let entryAddressMask: UInt64 = 0x000F_FFFF_FFFF_F000
  private static let eferMSR: UInt32 = 0xC000_0080
  private static let eferNoExecuteEnable: UInt64 = 1 << 11

  /// The PML4 in use, or 0 while the boot tables are still active.
  nonisolated(unsafe) private(set) static var root: UInt64 = 0
  /// Without NX (EFER.NXE), bit 63 is reserved and must stay clear.
  nonisolated(unsafe) private static var noExecuteSupported = false

  /// Builds the kernel's tables for memory up to `memoryEnd` and switches to them.
  static func setUp(memoryEnd: UInt64) {
    noExecuteSupported = CPU.readMSR(eferMSR) & eferNoExecuteEnable != 0
    root = newTable()
    let kernelStart = LinkerAddress.kernelStart.value
    let rodata = LinkerAddress.rodataStart.value
    let data = LinkerAddress.dataStart.value
    let symbols = LinkerAddress.symbolsStart.value
    let kernelEnd = LinkerAddress.kernelEnd.value
    map(pageSize..<kernelStart, .kernelData)  // low memory; page 0 stays unmapped
    map(kernelStart..<rodata, .kernelCode, smallPages: true)
    map(rodata..<data, .kernelReadOnly, smallPages: true)
    map(data..<symbols, .kernelData, smallPages: true)
    map(symbols..<kernelEnd, .kernelReadOnly, smallPages: true)
    // RAM in 4 KiB pages: thread stacks carve guard pages out of it, and splitting a
    // 2 MiB page then would take a page table that is never given back.
    map(kernelEnd..<max(kernelEnd, roundUp(memoryEnd)), .kernelData, smallPages: true)
    CPU.loadPageTables(root: root)

    GuardPages.add(below: LinkerAddress.bootStackBottom.value, owner: "the boot stack")
    GuardPages.add(below: LinkerAddress.interruptStack1.value, owner: "interrupt stack 1")
    GuardPages.add(below: LinkerAddress.interruptStack2.value, owner: "interrupt stack 2")
    GuardPages.add(below: LinkerAddress.interruptStack3.value, owner: "interrupt stack 3")
  }

  /// Maps the device registers at `range` uncached (identity-mapped like everything).
  static func mapDevice(_ range: Range<UInt64>) {
    map(roundDown(range.lowerBound)..<roundUp(range.upperBound), .device)
  }

  /// Identity-maps every page of `range` (page-aligned) with `flags`, using 2 MiB pages
  /// where the range covers whole aligned 2 MiB blocks, unless `smallPages`.
  static func map(_ range: Range<UInt64>, _ flags: PageFlags, smallPages: Bool = false) {
    var address = range.lowerBound
    while address < range.upperBound {
      if !smallPages && address % hugePageSize == 0 && range.upperBound - address >= hugePageSize {
        setHugeEntry(address, flags)
        address += hugePageSize
      } else {
        setEntry(address, UInt64(address) | allowed(flags).rawValue)
        address += pageSize
      }
    }
  }

  /// Removes the mapping of the 4 KiB page holding `address`.
  static func unmap(_ address: UInt64) {
    setEntry(roundDown(address), 0)
  }

  /// The physical address and flags `address` maps to, or nil if it is unmapped.
  static func translate(_ address: UInt64) -> (physical: UInt64, flags: PageFlags)? {
    guard root != 0 else { return address < 1 << 32 ? (address, .kernelData) : nil }
    var table = root
    for level in [3, 2, 1, 0] {
      let entry = entryPointer(table, index(address, level)).pointee
      guard entry & PageFlags.present.rawValue != 0 else { return nil }
      if level == 0 || (level == 1 && entry & PageFlags.huge.rawValue != 0) {
        let pageMask = level == 0 ? pageSize - 1 : hugePageSize - 1
        let base = entry & entryAddressMask & ~pageMask
        return (base | (address & pageMask), PageFlags(rawValue: entry & ~entryAddressMask))
      }
      table = entry & entryAddressMask
    }
    return nil
  }

  static func isMapped(_ address: UInt64) -> Bool { translate(address) != nil }

  // MARK: - Walking and changing the tables

  /// The page-table index of `address` at `level` (3 = PML4 ... 0 = page table).
  private static func index(_ address: UInt64, _ level: Int) -> Int {
    Int((address >> (12 + 9 * UInt64(level))) & 0x1FF)
  }

  private static func entryPointer(_ table: UInt64, _ index: Int) -> UnsafeMutablePointer<UInt64> {
    UnsafeMutablePointer<UInt64>(bitPattern: UInt(table))! + index
  }

  /// The table the entry points to, creating it (or splitting a 2 MiB page) if needed.
  private static func nextTable(_ table: UInt64, _ index: Int) -> UInt64 {
    let entry = entryPointer(table, index)
    if entry.pointee & PageFlags.present.rawValue == 0 {
      let next = newTable()
      entry.pointee = next | PageFlags.present.rawValue | PageFlags.writable.rawValue
      return next
    }
    if entry.pointee & PageFlags.huge.rawValue != 0 {
      let base = entry.pointee & entryAddressMask
      let flags = entry.pointee & ~entryAddressMask & ~PageFlags.huge.rawValue
      let pages = newTable()
      for page in 0..<512 {
        entryPointer(pages, page).pointee = (base + UInt64(page) * pageSize) | flags
      }
      entry.pointee = pages | PageFlags.present.rawValue | PageFlags.writable.rawValue
      CPU.loadPageTables(root: CPU.cr3)  // the old 2 MiB entry may be cached anywhere in it
    }
    return entry.pointee & entryAddressMask
  }

  private static func setEntry(_ address: UInt64, _ value: UInt64) {
    let directoryPointers = nextTable(root, index(address, 3))
    let directory = nextTable(directoryPointers, index(address, 2))
    let table = nextTable(directory, index(address, 1))
    entryPointer(table, index(address, 0)).pointee = value
    CPU.invalidatePage(address)
  }

  /// Only for fresh ranges during set-up: a page table already there would be lost.
  private static func setHugeEntry(_ address: UInt64, _ flags: PageFlags) {
    let directoryPointers = nextTable(root, index(address, 3))
    let directory = nextTable(directoryPointers, index(address, 2))
    let value = address | allowed(flags).rawValue | PageFlags.huge.rawValue
    entryPointer(directory, index(address, 1)).pointee = value
    CPU.invalidatePage(address)
  }

  private static func allowed(_ flags: PageFlags) -> PageFlags {
    noExecuteSupported ? flags : flags.subtracting(.noExecute)
  }

  private static func newTable() -> UInt64 {
    guard let frame = Frames.allocate() else { panic("paging: no frame for a page table") }
    let memory = UnsafeMutableRawPointer(bitPattern: UInt(frame.address))!
    memory.initializeMemory(as: UInt8.self, repeating: 0, count: Int(pageSize))
    return frame.address
  }

  static func roundDown(_ address: UInt64) -> UInt64 { address & ~(pageSize - 1) }
  static func roundUp(_ address: UInt64) -> UInt64 { (address + pageSize - 1) & ~(pageSize - 1) }
}

/// The unmapped pages below stacks, so a fault report can say whose stack overflowed.
enum GuardPages {
  nonisolated(unsafe) private static var pages: [(address: UInt64, owner: String)] = []

  /// Unmaps the page below `stackBottom` and remembers whose it is.
  static func add(below stackBottom: UInt64, owner: String) {
    let guardPage = stackBottom - Paging.pageSize
    Paging.unmap(guardPage)
    pages.append((guardPage, owner))
  }

  /// Maps the guard page below `stackBottom` again, when its stack is freed.
  static func remove(below stackBottom: UInt64) {
    let guardPage = stackBottom - Paging.pageSize
    pages.removeAll { $0.address == guardPage }
    Paging.map(guardPage..<stackBottom, .kernelData, smallPages: true)
  }

  /// Whose guard page holds `address`, if any.
  static func owner(of address: UInt64) -> String? {
    for page in pages where address >= page.address && address - page.address < Paging.pageSize {
      return page.owner
    }
    return nil
  }
}
