/// Loads a domain image into memory: validate, place, copy, relocate, protect.
///
/// The ELF work is the portable module ELF (unit-tested on the host); this file gives it
/// frames to load into and the system interface to bind imports against, then sets
/// page permissions per segment so the domain's text is read-only and its data not
/// executable (W^X holds for domains as for the kernel).
import ELF
import Memory

/// Why a domain could not be created; `message` says it in words.
struct DomainError: Error {
  let message: String
}

enum DomainLoader {
  /// Loads `image`; returns the first frame and the number of frames used.
  static func load(_ image: UnsafeRawBufferPointer) throws(DomainError) -> (PhysicalFrame, Int) {
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
    for segment in elf.segments {
      let start = frames.address + Paging.roundDown(segment.virtualAddress)
      let end = frames.address + Paging.roundUp(segment.virtualAddress + segment.memorySize)
      let flags: PageFlags =
        segment.executable ? .kernelCode : (segment.writable ? .kernelData : .kernelReadOnly)
      Paging.map(start..<end, flags, smallPages: true)
    }
    return (frames, frameCount)
  }

  /// Where the image's code lies once loaded at `frames`: the only addresses the kernel
  /// accepts as the domain's entry points. Empty if the image has no executable segment.
  static func executableRange(_ image: UnsafeRawBufferPointer, loadedAt frames: PhysicalFrame)
    -> Range<UInt64>
  {
    guard let elf = try? ELFImage(bytes: image),
      let code = elf.segments.first(where: { $0.executable })
    else { return 0..<0 }
    let start = frames.address + code.virtualAddress
    return start..<start + code.memorySize
  }

  /// Finds the symbols of an image loaded at `frames`: the image is read once, for all
  /// of a domain's entry points.
  struct Symbols {
    private let elf: ELFImage?
    private let base: UInt64

    init(_ image: UnsafeRawBufferPointer, loadedAt frames: PhysicalFrame) {
      elf = try? ELFImage(bytes: image)
      base = frames.address
    }

    /// The address of `name`, if the image defines it.
    func address(of name: String) -> UInt64? {
      elf?.symbolOffset(name).map { base + $0 }
    }
  }

  /// Gives back an image's frames, writable and not executable again.
  static func unload(_ frames: PhysicalFrame, count: Int) {
    let range = frames.address..<(frames.address + UInt64(count) * Paging.pageSize)
    Paging.map(range, .kernelData, smallPages: true)
    Frames.free(frames, count: count)
  }
}
