/// What the parser accepts: every kind of parameter and result, method numbers, the
/// Idempotent marker, and interfaces spread over several files.
import ProxyGeneratorCore
import Testing

@Suite struct InterfaceParserTests {
  @Test func valueParameters() throws {
    let method = try #require(
      try methods(
        """
        protocol P {
          func values(_ count: Int, at point: Point, maybe: Int?, pair: (Int, UInt8), row: InlineArray<4, Int>) -> Result<Void, RpcError>
        }
        """
      ).first)
    #expect(
      method.parameters == [
        Parameter(label: nil, name: "count", type: "Int", kind: .value),
        Parameter(label: "at", name: "point", type: "Point", kind: .value),
        Parameter(label: "maybe", name: "maybe", type: "Int?", kind: .value),
        Parameter(label: "pair", name: "pair", type: "(Int, UInt8)", kind: .value),
        Parameter(label: "row", name: "row", type: "InlineArray<4, Int>", kind: .value),
      ])
  }

  @Test func rrefParameters() throws {
    let found = try methods(
      """
      protocol P {
        func move(_ letter: consuming RRef<Letter>) -> Result<Int, RpcError>
        func lend(letter: borrowing RRef<Letter>) -> Result<Int, RpcError>
      }
      """)
    #expect(
      found[0].parameters == [
        Parameter(
          label: nil, name: "letter", type: "RRef<Letter>", kind: .movedRRef(payload: "Letter"))
      ])
    #expect(
      found[1].parameters == [
        Parameter(
          label: "letter", name: "letter", type: "RRef<Letter>",
          kind: .borrowedRRef(payload: "Letter"))
      ])
  }

  /// Deques and arrays of the shared heap cross like RRefs: moved (both), lent (arrays),
  /// and as results; the payload is their element type.
  @Test func sharedCollections() throws {
    let found = try methods(
      """
      protocol P {
        func submit(_ batch: consuming RRefDeque<Request, 32>) -> Result<RRefDeque<Request, 32>, RpcError>
        func sum(of values: borrowing RRefArray<Int, 16>) throws(RpcError) -> RRefArray<Int, 16>
      }
      """)
    #expect(
      found[0].parameters == [
        Parameter(
          label: nil, name: "batch", type: "RRefDeque<Request, 32>",
          kind: .movedRRef(payload: "Request"))
      ])
    #expect(found[0].resultType == "RRefDeque<Request, 32>")
    #expect(found[0].resultKind == .movedRRef(payload: "Request"))
    #expect(
      found[1].parameters == [
        Parameter(
          label: "of", name: "values", type: "RRefArray<Int, 16>",
          kind: .borrowedRRef(payload: "Int"))
      ])
    #expect(found[1].resultKind == .movedRRef(payload: "Int"))
  }

  @Test func interfaceParameters() throws {
    let found = try methods(
      """
      protocol P {
        func link(_ other: OtherProxy, back: PProxy?) -> Result<OtherProxy, RpcError>
      }
      """)
    #expect(
      found[0].parameters == [
        Parameter(label: nil, name: "other", type: "OtherProxy", kind: .interface("Other")),
        Parameter(label: "back", name: "back", type: "PProxy?", kind: .value),
      ])
    #expect(found[0].resultType == "OtherProxy")
    #expect(found[0].resultKind == .interface("Other"))
  }

  @Test func results() throws {
    let found = try methods(
      """
      protocol P {
        func nothing() -> Result<Void, RpcError>
        func empty() -> Result<(), RpcError>
        func number() -> Result<Int, RpcError>
        func pair() -> Result<(Int, Int)?, RpcError>
        func letter() -> Result<RRef<Letter>, RpcError>
        func thrown() throws(RpcError)
        func thrownNumber() throws(RpcError) -> Int
        func thrownLetter() throws(RpcError) -> RRef<Letter>
      }
      """)
    let summary = found.map {
      "\($0.name): \($0.resultType) \($0.resultKind) throws=\($0.throwsRpcError)"
    }
    #expect(
      summary == [
        "nothing: Void value throws=false",
        "empty: Void value throws=false",
        "number: Int value throws=false",
        "pair: (Int, Int)? value throws=false",
        "letter: RRef<Letter> movedRRef(payload: \"Letter\") throws=false",
        "thrown: Void value throws=true",
        "thrownNumber: Int value throws=true",
        "thrownLetter: RRef<Letter> movedRRef(payload: \"Letter\") throws=true",
      ])
  }

  @Test func methodsAreNumberedInOrder() throws {
    let found = try methods(
      """
      public protocol P {
        /// The first.
        func zeta() -> Result<Int, RpcError>
        func alpha() -> Result<Int, RpcError>

        func mu() throws(RpcError)
      }
      """)
    #expect(found.map(\.name) == ["zeta", "alpha", "mu"])
    #expect(found.map(\.index) == [0, 1, 2])
  }

  @Test func idempotentMarker() throws {
    let found = try methods(
      """
      protocol P {
        /// Reads.
        ///
        /// - Idempotent: it only reads.
        func read() -> Result<Int, RpcError>
        /// Writes; not idempotent although the word appears: idempotent.
        func write(_ value: Int) -> Result<Void, RpcError>
        /**
         Looks at a lent letter.
         - Idempotent: lending twice is harmless.
         */
        func look(_ letter: borrowing RRef<Letter>) throws(RpcError) -> Letter
        func plain() -> Result<Int, RpcError>
      }
      """)
    #expect(found.map(\.isIdempotent) == [true, false, true, false])
  }

  @Test func interfacesInSeveralFiles() throws {
    let interfaces = try InterfaceParser.parse(files: [
      (
        path: "A.swift",
        source: "protocol A {\n  func b(_ b: BProxy) -> Result<Void, RpcError>\n}\n"
      ),
      (
        path: "B.swift",
        source:
          "struct Plain {}\nprotocol B {\n  func a(_ a: AProxy) -> Result<Void, RpcError>\n}\n"
      ),
    ])
    #expect(interfaces.map(\.name) == ["A", "B"])
    #expect(interfaces.map(\.file) == ["A.swift", "B.swift"])
    #expect(interfaces.map(\.line) == [1, 2])
    #expect(interfaces[0].methods[0].parameters[0].kind == .interface("B"))
    #expect(interfaces[1].methods[0].parameters[0].kind == .interface("A"))
  }

  @Test func sameInterfaceInTwoFiles() {
    #expect(
      throws: GeneratorError(
        file: "B.swift", line: 2, reason: "interface 'A' is declared in A.swift already")
    ) {
      try InterfaceParser.parse(files: [
        (path: "A.swift", source: "protocol A {}\n"),
        (path: "B.swift", source: "\nprotocol A {}\n"),
      ])
    }
  }

  @Test func otherDeclarationsAreIgnored() throws {
    let interfaces = try parse(
      """
      import SwiftletLib
      public struct Letter: BitwiseCopyable { public var number: Int }
      public enum Kind: Int, BitwiseCopyable { case one }
      """)
    #expect(interfaces.isEmpty)
  }
}
