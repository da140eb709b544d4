/// The libFuzzer target over whole Ethernet frames: each input goes through
/// `FrameFuzzing.run` (tests/unit/PacketsTests/FrameFuzzing.swift), the path the unit
/// tests replay the corpus through. Built and run by `make fuzz`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data, size > 0 else { return 0 }
  FrameFuzzing.run(Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}
