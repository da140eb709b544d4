/// Loads a domain image into memory: validate, place, copy, relocate, protect; and keeps
/// the relocated pristine copy every restart of the domain is made from.
///
/// The ELF work is the portable module ELF (unit-tested on the host); this file gives it
/// frames to load into and the system interface to bind imports against, then sets
/// page permissions per segment so the domain's text is read-only and its data not
/// executable (W^X holds for domains as for the kernel).
///
/// A restart does not load again. A domain restarts in the frames it was first loaded
/// into, and the image was relocated for exactly those, so copying the pristine copy
/// (taken before any of the domain's code ran) over them gives back, byte for byte, what
/// loading would: validation, parsing and relocation happen once, at the first load. The
/// copy lies in frames of its own, mapped read-only, and never handed to a domain.
import ELF
import Memory

/// Why a domain could not be created; `message` says it in words.
struct DomainError: Error {
  let message: String
}

/// A domain's image in memory: the frames it was loaded and relocated into, how its
/// pages are protected, the symbols it exports, and its pristine copy once one is kept.
struct LoadedImage {
  let frames: PhysicalFrame
  let frameCount: Int
  let segments: [LoadSegment]
  let exports: [ExportedSymbol]
  /// The image as loaded and relocated, before any of its code ran (`keepPristine`).
  fileprivate(set) var pristine: PhysicalFrame?

  /// Where the image lies.
  var addresses: Range<UInt64> {
    frames.address..<frames.address + UInt64(frameCount) * Paging.pageSize
  }

  /// Where its code lies: the only addresses the kernel accepts as the domain's entry
  /// points. Empty if the image has no executable segment.
  var code: Range<UInt64> {
    guard let code = segments.first(where: { $0.executable }) else { return 0..<0 }
    let start = frames.address + code.virtualAddress
    return start..<start + code.memorySize
  }

  /// The frames its pristine copy holds: as many as the image, or none.
  var pristineFrames: Int { pristine == nil ? 0 : frameCount }

  /// The address of `name`, if the image exports it.
  func address(of name: String) -> UInt64? {
    exports.first { $0.name == name }.map { frames.address + $0.offset }
  }
}

enum DomainLoader {
  /// Loads `image` into frames of its own, relocated for them and protected.
  static func load(_ image: UnsafeRawBufferPointer) throws(DomainError) -> LoadedImage {
    let elf: ELFImage
    do {
      elf = try ELFImage(bytes: image)
    } catch {
      throw DomainError(message: error.message)
    }
    let frameCount = elf.span / Int(Paging.pageSize)
    guard let frames = Frames.allocateContiguous(count: frameCount) else {
      throw DomainError(message: "no memory for a \(elf.span)-byte image")
    }
    let destination = UnsafeMutableRawBufferPointer(
      start: UnsafeMutableRawPointer(bitPattern: UInt(frames.address)), count: elf.span)
    do {
      try elf.load(into: destination)
      _ = try elf.relocate(destination, base: frames.address, resolver: SystemInterface())
    } catch {
      Frames.free(frames, count: frameCount)
      throw DomainError(message: error.message)
    }
    let loaded = LoadedImage(
      frames: frames, frameCount: frameCount, segments: elf.segments, exports: elf.exports,
      pristine: nil)
    protect(loaded)
    return loaded
  }

  /// Keeps a copy of `image` as it is now, freshly loaded, in frames mapped read-only.
  static func keepPristine(_ image: inout LoadedImage) throws(DomainError) {
    guard image.pristine == nil else { return }
    guard let copy = Frames.allocateContiguous(count: image.frameCount) else {
      throw DomainError(message: "no memory for the pristine copy of its image")
    }
    copyPages(from: image.frames, to: copy, count: image.frameCount)
    let range = copy.address..<copy.address + UInt64(image.frameCount) * Paging.pageSize
    Paging.map(range, .kernelReadOnly, smallPages: true)
    image.pristine = copy
  }

  /// Puts the image back as it was when its pristine copy was taken (a no-op without
  /// one): every page, code and read-only data included, so nothing written to its frames
  /// by any means survives a restart.
  static func restore(_ image: LoadedImage) {
    guard let pristine = image.pristine else { return }
    Paging.map(image.addresses, .kernelData, smallPages: true)
    copyPages(from: pristine, to: image.frames, count: image.frameCount)
    protect(image)
  }

  /// Gives back the image's frames and its pristine copy's, writable and not executable
  /// again.
  static func unload(_ image: LoadedImage) {
    Paging.map(image.addresses, .kernelData, smallPages: true)
    Frames.free(image.frames, count: image.frameCount)
    if let pristine = image.pristine {
      let range = pristine.address..<pristine.address + UInt64(image.frameCount) * Paging.pageSize
      Paging.map(range, .kernelData, smallPages: true)
      Frames.free(pristine, count: image.frameCount)
    }
  }

  /// Maps each segment's pages with its permissions: code read-only and executable,
  /// data writable, the rest read-only.
  private static func protect(_ image: LoadedImage) {
    for segment in image.segments {
      let start = image.frames.address + Paging.roundDown(segment.virtualAddress)
      let end = image.frames.address + Paging.roundUp(segment.virtualAddress + segment.memorySize)
      let flags: PageFlags =
        segment.executable ? .kernelCode : (segment.writable ? .kernelData : .kernelReadOnly)
      Paging.map(start..<end, flags, smallPages: true)
    }
  }

  /// Copies whole frames with memcpy, eight bytes a step (`copyMemory` would call memmove,
  /// which goes a byte at a time: a restart spent most of its time there).
  private static func copyPages(from source: PhysicalFrame, to target: PhysicalFrame, count: Int) {
    _ = copyFrames(
      UnsafeMutableRawPointer(bitPattern: UInt(target.address))!,
      UnsafeRawPointer(bitPattern: UInt(source.address))!, count * Int(Paging.pageSize))
  }
}

/// boot/libc.asm's memcpy: the two ranges never overlap here.
@_extern(c, "memcpy")
private func copyFrames(
  _ target: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int
) -> UnsafeMutableRawPointer
