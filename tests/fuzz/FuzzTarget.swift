/// The libFuzzer entry point every fuzz target shares: each input goes to the target's
/// harness, `FuzzedHarness`, which the build names in a generated one-line file (the
/// harnesses live with the unit tests, which replay every kept input through them).
/// Built and run by `make fuzz`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data, size > 0 else { return 0 }
  FuzzedHarness.run(Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}
