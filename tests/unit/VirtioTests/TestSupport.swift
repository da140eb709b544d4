/// What the block tests add to their test bed: taking every completion at once.
import Testing
import Virtio

extension BlockTestBed {
  /// Polls and collects every completion there is.
  func completions() throws -> [BlockCompletion] {
    var all: [BlockCompletion] = []
    while let ticket = try driver.poll() { all.append(try #require(driver.collect(ticket))) }
    return all
  }
}
