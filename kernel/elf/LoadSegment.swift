// Where the image's bytes go: its PT_LOAD segments, checked, and the span they cover.
//
// The kernel places a whole image at one base address, so a segment's virtual address is
// an offset from that base, and the image needs `span` bytes from it. The kernel maps an
// image page by page with each segment's permissions, so segments must not overlap or
// share a page, and none may be both writable and executable. A segment's file bytes
// must sit at the same offset within a page as its memory, as the linker lays them out.

/// One PT_LOAD segment: `fileSize` bytes from the file at `fileOffset`, then zeros, make
/// `memorySize` bytes at `virtualAddress` from the image base.
public struct LoadSegment: Equatable, Sendable {
  /// The segment's first byte, as an offset from the image base.
  public var virtualAddress: UInt64
  /// The segment's size in memory; never below `fileSize`.
  public var memorySize: UInt64
  /// Where the segment's bytes start in the file.
  public var fileOffset: UInt64
  /// How many bytes come from the file; the rest of the segment is zero (.bss).
  public var fileSize: UInt64
  /// The segment may be read (PF_R).
  public var readable: Bool
  /// The segment may be written (PF_W).
  public var writable: Bool
  /// The segment may be executed (PF_X).
  public var executable: Bool

  /// A segment with the given layout and permissions.
  public init(
    virtualAddress: UInt64, memorySize: UInt64, fileOffset: UInt64, fileSize: UInt64,
    readable: Bool, writable: Bool, executable: Bool
  ) {
    self.virtualAddress = virtualAddress
    self.memorySize = memorySize
    self.fileOffset = fileOffset
    self.fileSize = fileSize
    self.readable = readable
    self.writable = writable
    self.executable = executable
  }

  /// The offset just past the segment. Saturates at `UInt64.max` for a segment built by
  /// hand that wraps; `ELFImage` rejects such segments.
  public var end: UInt64 {
    let (sum, wraps) = virtualAddress.addingReportingOverflow(memorySize)
    return wraps ? .max : sum
  }

  /// The whole pages the segment touches, as offsets from the image base: what the kernel
  /// maps with this segment's permissions.
  public var pages: Range<UInt64> {
    let page = ELFImage.pageSize
    let first = virtualAddress / page * page
    let last = end == .max ? .max : (end + page - 1) / page * page
    return first..<max(first, last)
  }
}

/// The checked PT_LOAD segments, in address order, and the program headers the rest of
/// the loader needs.
struct LoadPlan {
  /// Non-empty PT_LOAD segments, sorted by address, none overlapping or sharing a page.
  let segments: [LoadSegment]
  /// Bytes from the image base to the end of the last segment, rounded up to a page.
  let span: Int
  /// PT_GNU_RELRO's range, when the image has one that is not empty.
  let relro: Range<UInt64>?
  /// The PT_DYNAMIC header (the first, if there are several).
  let dynamic: ProgramHeader

  init(_ file: ByteView, header: ELFHeader) throws(ELFError) {
    var loads: [LoadSegment] = []
    var dynamic: ProgramHeader?
    var relro: ProgramHeader?
    for index in 0..<Int(header.programHeaderCount) {
      let programHeader = ProgramHeader(
        file, tableOffset: header.programHeaderOffset, index: index)
      switch programHeader.type {
      case ProgramHeader.load:
        if let segment = try Self.checkedSegment(programHeader, in: file) {
          loads.append(segment)
        }
      case ProgramHeader.dynamic:
        if dynamic == nil { dynamic = programHeader }
      case ProgramHeader.relro:
        if relro == nil { relro = programHeader }
      default:
        break
      }
    }
    guard !loads.isEmpty else { throw .noLoadableSegments }
    loads.sort { $0.virtualAddress < $1.virtualAddress }

    let page = ELFImage.pageSize
    for (previous, next) in zip(loads, loads.dropFirst()) {
      let previousRange = previous.virtualAddress..<previous.end
      let nextRange = next.virtualAddress..<next.end
      guard previous.end <= next.virtualAddress else {
        throw .overlappingSegments(previousRange, nextRange)
      }
      // Both segments are non-empty, so previous.end - 1 is previous's last byte.
      guard (previous.end - 1) / page != next.virtualAddress / page else {
        throw .segmentsSharePage(
          previousRange, nextRange, page: next.virtualAddress / page * page)
      }
    }
    // Sorted, disjoint, each below the limit: the last segment ends highest, and rounding
    // up stays within the limit, which is a whole number of pages.
    segments = loads
    span = Int((loads[loads.count - 1].end + page - 1) / page * page)
    self.relro = try Self.checkedRelro(relro, in: loads)
    guard let dynamic else { throw .noDynamicSegment }
    self.dynamic = dynamic
  }

  /// The segment a PT_LOAD header describes, or nil if it is empty in memory.
  private static func checkedSegment(_ header: ProgramHeader, in file: ByteView)
    throws(ELFError) -> LoadSegment?
  {
    guard header.fileSize <= header.memorySize else {
      throw .fileSizeExceedsMemorySize(
        header: header.index, fileSize: header.fileSize, memorySize: header.memorySize)
    }
    guard file.view(at: header.offset, count: header.fileSize) != nil else {
      throw .segmentOutsideFile(
        header: header.index, offset: header.offset, size: header.fileSize,
        fileSize: file.count)
    }
    let alignment = header.alignment
    if alignment > 1 {
      guard alignment & (alignment - 1) == 0, alignment <= ELFImage.pageSize else {
        throw .badSegmentAlignment(header: header.index, alignment: alignment)
      }
      guard header.offset % alignment == header.address % alignment else {
        throw .misalignedSegment(
          header: header.index, offset: header.offset, address: header.address,
          alignment: alignment)
      }
    }
    let writable = header.flags & ProgramHeader.writableFlag != 0
    let executable = header.flags & ProgramHeader.executableFlag != 0
    guard !(writable && executable) else {
      throw .writableAndExecutable(header: header.index, address: header.address)
    }
    let limit = UInt64(ELFImage.maximumSpan)
    guard header.address <= limit, header.memorySize <= limit - header.address else {
      throw .segmentBeyondLimit(
        header: header.index, address: header.address, size: header.memorySize)
    }
    guard header.memorySize > 0 else { return nil }
    return LoadSegment(
      virtualAddress: header.address, memorySize: header.memorySize, fileOffset: header.offset,
      fileSize: header.fileSize, readable: header.flags & ProgramHeader.readableFlag != 0,
      writable: writable, executable: executable)
  }

  /// PT_GNU_RELRO's range, which must lie inside one writable segment; nil if the image
  /// has none or it is empty.
  private static func checkedRelro(_ header: ProgramHeader?, in segments: [LoadSegment])
    throws(ELFError) -> Range<UInt64>?
  {
    guard let header, header.memorySize > 0 else { return nil }
    let (end, wraps) = header.address.addingReportingOverflow(header.memorySize)
    guard !wraps,
      let segment = segment(containing: header.address, in: segments), segment.writable,
      end <= segment.end
    else {
      throw .relroOutsideSegment(address: header.address, size: header.memorySize)
    }
    return header.address..<end
  }

  /// The segment that could hold `address`: the last one starting at or below it. Callers
  /// check that what they want ends inside it.
  static func segment(containing address: UInt64, in segments: [LoadSegment]) -> LoadSegment? {
    // Binary search, so a file with thousands of segments costs no more than a log per
    // lookup.
    var low = 0
    var high = segments.count
    while low < high {
      let middle = low + (high - low) / 2
      if segments[middle].virtualAddress <= address {
        low = middle + 1
      } else {
        high = middle
      }
    }
    guard low > 0 else { return nil }
    let segment = segments[low - 1]
    return address < segment.end ? segment : nil
  }

  /// The file bytes that load to [address, address + count), or nil unless they all lie
  /// in the file-backed part of one segment.
  func fileBytes(at address: UInt64, count: UInt64, in file: ByteView) -> ByteView? {
    guard let segment = Self.segment(containing: address, in: segments) else { return nil }
    let offset = address - segment.virtualAddress
    guard count <= segment.fileSize, offset <= segment.fileSize - count else { return nil }
    // The segment's file range was checked to lie inside the file, so this cannot wrap.
    return file.view(at: segment.fileOffset + offset, count: count)
  }

  /// Whether [address, address + count) lies inside one writable segment.
  func isWritable(at address: UInt64, count: UInt64) -> Bool {
    guard let segment = Self.segment(containing: address, in: segments), segment.writable
    else { return false }
    let offset = address - segment.virtualAddress
    return count <= segment.memorySize && offset <= segment.memorySize - count
  }
}
