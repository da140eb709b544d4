// swift-format-ignore-file
// Safe code that mentions forbidden words only where they are not code.
//
// unsafe, UnsafePointer, @_silgen_name, unsafeBitCast and import Foundation in a
// line comment are text.

/* A block comment: unsafe { UnsafeMutableRawPointer } /* nested: Unmanaged */ still
   inside the outer comment: withUnsafeBytes, @unchecked Sendable, "a lone quote */

/// A doc comment: `unsafe` and `OpaquePointer` are text.
struct Counter {
  private(set) var count = 0
  var isUnsafeMode = false  // names that merely contain Unsafe are fine
  var safeCount: Int { count }

  mutating func increment() { count &+= 1 }

  func describe() -> String {
    let plain = "unsafe UnsafePointer<Int> @_silgen_name(\"x\") // not a comment /*"
    let escaped = "a quote \" then unsafeBitCast, then a backslash \\"
    let raw = #"raw "unsafe" \(unsafe) \#(count) Unmanaged"#
    let multi = """
      unsafe
      "quoted" and \""" UnsafeRawPointer
      /* not a comment */ \(count) // nor this
      """
    let rawMulti = ##"""
      """# is still text: unsafe "#
      """##
    return plain + escaped + raw + multi + rawMulti
  }
}

enum Direction { case read, write }

func stride(_ direction: Direction) -> Int {
  switch direction {
  case .read: return 1
  case .write: return -1
  }
}

@inline(__always) @discardableResult
func double(_ value: Int) -> Int { value &* 2 }

func ratio(_ a: Int, _ b: Int) -> Int { a / b / 2 }
func half(_ a: Int) -> Int { a/2 }
