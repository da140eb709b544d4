/// Every signature the parser rejects, with the exact message proxygen prints: the
/// file, the line of the offending declaration (not of the comment or blank line
/// before it), and the reason.
import ProxyGeneratorCore
import Testing

struct Rejected: CustomTestStringConvertible, Sendable {
  var what: String
  var source: String
  var message: String

  /// A member on line 3 of protocol P (see `protocolP`), rejected for `reason`.
  init(_ what: String, member: String, line: Int = 3, _ reason: String) {
    self.what = what
    source = protocolP(member)
    message = "P.swift:\(line): error: \(reason)"
  }

  /// A method `func f(<parameters>) -> Result<Int, RpcError>` on line 3 of protocol P.
  init(_ what: String, parameters: String, _ reason: String) {
    self.init(what, member: "  func f(\(parameters)) -> Result<Int, RpcError>", reason)
  }

  /// A whole source, rejected on `line` for `reason`.
  init(_ what: String, source: String, line: Int, _ reason: String) {
    self.what = what
    self.source = source
    message = "P.swift:\(line): error: \(reason)"
  }

  var testDescription: String { what }
}

let reservedList = "arguments, error, method, outcome, result, service"

let rejections: [Rejected] = [
  // Rule 1: an interface is a flat, non-generic protocol of methods only.
  Rejected(
    "property", member: "  var count: Int { get }",
    "interface 'P' may declare methods only, not 'var count: Int { get }'"),
  Rejected(
    "property with a doc comment", member: "\n  /// How many.\n  var count: Int { get }", line: 5,
    "interface 'P' may declare methods only, not 'var count: Int { get }'"),
  Rejected(
    "associated type", member: "  associatedtype Element",
    "interface 'P' may declare methods only, not 'associatedtype Element'"),
  Rejected(
    "subscript", member: "  subscript(index: Int) -> Int { get }",
    "interface 'P' may declare methods only, not 'subscript(index: Int) -> Int { get }'"),
  Rejected(
    "initializer", member: "  init()", "interface 'P' may declare methods only, not 'init()'"),
  Rejected(
    "nested type", member: "  typealias Number = Int",
    "interface 'P' may declare methods only, not 'typealias Number = Int'"),
  Rejected(
    "inheritance", source: "/// Flat.\nprotocol P: AnyObject, Other {\n}\n", line: 2,
    "interface 'P' may not inherit (AnyObject, Other): interfaces are flat"),
  Rejected(
    "primary associated type", source: "protocol P<Element> {\n  associatedtype Element\n}\n",
    line: 1,
    "interface 'P' may not be generic"),

  // Rule 2: method names are unique.
  Rejected(
    "duplicate method name", member: "  func fine(_ value: Int) -> Result<Int, RpcError>",
    "interface 'P' declares 'fine' twice: overloads cannot be told apart by number"),

  // Rule 3: not generic, not async, no modifiers.
  Rejected(
    "generic method", member: "  func f<T>(_ value: T) -> Result<Int, RpcError>",
    "P.f may not be generic"),
  Rejected(
    "generic where clause", member: "  func f() -> Result<Int, RpcError> where Self: Other",
    "P.f may not be generic"),
  Rejected(
    "static", member: "  static func f() -> Result<Int, RpcError>", "P.f may not be 'static'"),
  Rejected(
    "mutating", member: "  mutating func f() -> Result<Int, RpcError>", "P.f may not be 'mutating'"),
  Rejected(
    "async", member: "  func f() async -> Result<Int, RpcError>",
    "P.f may not be async: a call runs to its end or fails"),

  // Rule 4: Result<T, RpcError> or throws(RpcError), not both.
  Rejected(
    "untyped throws", member: "  func f() throws -> Int",
    "P.f has untyped throws, which cannot cross: write 'throws(RpcError)'"),
  Rejected(
    "throws another error", member: "  func f() throws(OtherError) -> Int",
    "P.f throws OtherError: only RpcError crosses; write 'throws(RpcError)'"),
  Rejected(
    "rethrows", member: "  func f() rethrows -> Int",
    "P.f may not rethrow: write 'throws(RpcError)'"),
  Rejected(
    "no result", member: "  func f()",
    "P.f must return Result<T, RpcError> or be throws(RpcError): a call can always fail"),
  Rejected(
    "plain result", member: "  func f() -> Int", "P.f must return Result<T, RpcError>, not Int"),
  Rejected(
    "Result with another failure", member: "  func f() -> Result<Int, OtherError>",
    "P.f must return Result<T, RpcError>, not Result<Int, OtherError>"),
  Rejected(
    "Result with one argument", member: "  func f() -> Result<Int>",
    "P.f must return Result<T, RpcError>, not Result<Int>"),
  Rejected(
    "throws and Result", member: "  func f() throws(RpcError) -> Result<Int, RpcError>",
    "P.f both throws and returns a Result: choose one (throws(RpcError) -> T or -> Result<T, RpcError>)"
  ),

  // Rule 5: no variadic, inout, default value, attribute or reserved name.
  Rejected(
    "variadic", parameters: "_ values: Int...", "P.f: parameter 'values' may not be variadic"),
  Rejected(
    "default value", parameters: "_ value: Int = 1",
    "P.f: parameter 'value' may not have a default value: callers pass every argument"),
  Rejected(
    "inout", parameters: "_ value: inout Int",
    "P.f: parameter 'value' may not be inout: a call cannot write into the caller's memory; return the new value (or lend an RRef)"
  ),
  Rejected(
    "inout RRef", parameters: "_ letter: inout RRef<Letter>",
    "P.f: parameter 'letter' may not be inout: a call cannot write into the caller's memory; return the new value (or lend an RRef)"
  ),
  Rejected(
    "attribute", parameters: "_ body: @escaping () -> Void",
    "P.f: parameter 'body' may not have attributes"),
  Rejected(
    "reserved name", parameters: "_ value: Int, result: Int",
    "P.f: parameter 'result' has a name the generated code uses for its own variables (\(reservedList)): choose another"
  ),
  Rejected(
    "reserved inner name", parameters: "with arguments: Int",
    "P.f: parameter 'arguments' has a name the generated code uses for its own variables (\(reservedList)): choose another"
  ),

  // Rule 6: RRefs (and RRefArrays, RRefDeques) say consuming or borrowing, deques only
  // consuming, nothing else does; they cross alone.
  Rejected(
    "RRef without ownership", parameters: "_ letter: RRef<Letter>",
    "P.f: parameter 'letter' is an RRef, so it must say 'consuming' (move it to the callee) or 'borrowing' (lend it for the call)"
  ),
  Rejected(
    "sending RRef", parameters: "_ letter: sending RRef<Letter>",
    "P.f: parameter 'letter' is an RRef, so it must say 'consuming' (move it to the callee) or 'borrowing' (lend it for the call)"
  ),
  Rejected(
    "consuming value", parameters: "_ value: consuming Int",
    "P.f: parameter 'value' is 'consuming', which only RRef, RRefArray and RRefDeque parameters may be"
  ),
  Rejected(
    "borrowing value", parameters: "_ value: borrowing Point",
    "P.f: parameter 'value' is 'borrowing', which only RRef, RRefArray and RRefDeque parameters may be"
  ),
  Rejected(
    "optional RRef", parameters: "_ letter: RRef<Letter>?",
    "P.f: parameter 'letter' holds an RRef inside another type: an RRef crosses on its own"),
  Rejected(
    "RRef in a tuple", parameters: "_ pair: (Int, RRef<Letter>)",
    "P.f: parameter 'pair' holds an RRef inside another type: an RRef crosses on its own"),
  Rejected(
    "RRefArray without a count", parameters: "_ letters: consuming RRefArray<Letter>",
    "P.f: parameter 'letters' is RRefArray<Letter>: write RRefArray<T, N>"),
  Rejected(
    "RRef with two arguments", parameters: "_ letter: consuming RRef<Letter, Int>",
    "P.f: parameter 'letter' is RRef<Letter, Int>: write RRef<T>"),
  Rejected(
    "RRefDeque without ownership", parameters: "_ batch: RRefDeque<Letter, 4>",
    "P.f: parameter 'batch' is an RRefDeque, so it must say 'consuming' (move it to the callee)"),
  Rejected(
    "RRefArray without ownership", parameters: "_ letters: RRefArray<Letter, 4>",
    "P.f: parameter 'letters' is an RRefArray, so it must say 'consuming' (move it to the callee) or 'borrowing' (lend it for the call)"
  ),
  Rejected(
    "lent RRefDeque", parameters: "_ batch: borrowing RRefDeque<Letter, 4>",
    "P.f: parameter 'batch' is an RRefDeque, which can be moved ('consuming') but not lent: a borrower could take its elements out; move it and return it"
  ),
  Rejected(
    "optional RRefDeque", parameters: "_ batch: RRefDeque<Letter, 4>?",
    "P.f: parameter 'batch' holds an RRefDeque inside another type: an RRefDeque crosses on its own"
  ),
  Rejected(
    "RRefArray in a tuple", parameters: "_ pair: (Int, RRefArray<Letter, 2>)",
    "P.f: parameter 'pair' holds an RRefArray inside another type: an RRefArray crosses on its own"
  ),

  // Rule 7: plain data or a proxy only.
  Rejected(
    "String", parameters: "_ name: String",
    "P.f: parameter 'name' is String, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "Substring", parameters: "_ name: Substring",
    "P.f: parameter 'name' is Substring, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "Array", parameters: "_ values: Array<Int>",
    "P.f: parameter 'values' is Array, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "array literal type", parameters: "_ values: [Int]",
    "P.f: parameter 'values' is a collection, which holds heap memory: use an RRef"),
  Rejected(
    "Dictionary", parameters: "_ table: Dictionary<Int, Int>",
    "P.f: parameter 'table' is Dictionary, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "dictionary literal type", parameters: "_ table: [Int: Int]",
    "P.f: parameter 'table' is a collection, which holds heap memory: use an RRef"),
  Rejected(
    "Set", parameters: "_ values: Set<Int>",
    "P.f: parameter 'values' is Set, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "closure", parameters: "_ body: () -> Void",
    "P.f: parameter 'body' is a function: code cannot cross, only data"),
  Rejected(
    "any", parameters: "_ other: any Other",
    "P.f: parameter 'other' is an existential or opaque type: only concrete plain data crosses"),
  Rejected(
    "some", parameters: "_ other: some Other",
    "P.f: parameter 'other' is an existential or opaque type: only concrete plain data crosses"),
  Rejected(
    "Any", parameters: "_ thing: Any",
    "P.f: parameter 'thing' is Any, which is an existential: use plain data or an RRef"
  ),
  Rejected(
    "AnyObject", parameters: "_ thing: AnyObject",
    "P.f: parameter 'thing' is AnyObject, which is a class reference: use plain data or an RRef"),
  Rejected(
    "optional String", parameters: "_ name: String?",
    "P.f: parameter 'name' is String, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "String in a tuple", parameters: "_ pair: (Int, name: String)",
    "P.f: parameter 'pair' is String, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "String as a type argument", parameters: "_ name: Optional<String>",
    "P.f: parameter 'name' is String, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "RRef as a type argument", parameters: "_ letter: Optional<RRef<Letter>>",
    "P.f: parameter 'letter' holds an RRef inside another type: an RRef crosses on its own"),
  Rejected(
    "implicitly unwrapped optional", parameters: "_ value: Int!",
    "P.f: parameter 'value' is an implicitly unwrapped optional (Int!): write an optional"),
  Rejected(
    "protocol of another file instead of its proxy", parameters: "_ other: Other",
    "P.f: parameter 'other' is the protocol Other: pass its proxy, OtherProxy"),
  Rejected(
    "own protocol instead of its proxy", parameters: "_ same: P",
    "P.f: parameter 'same' is the protocol P: pass its proxy, PProxy"),
  Rejected(
    "protocol as the result", member: "  func f() -> Result<Other, RpcError>",
    "P.f: its result is the protocol Other: pass its proxy, OtherProxy"),
  Rejected(
    "String result", member: "  func f() -> Result<String, RpcError>",
    "P.f: its result is String, which holds heap memory: use plain data or an RRef"),
  Rejected(
    "collection result of a throwing method", member: "  func f() throws(RpcError) -> [Int]",
    "P.f: its result is a collection, which holds heap memory: use an RRef"),
  Rejected(
    "optional RRef result", member: "  func f() -> Result<RRef<Letter>?, RpcError>",
    "P.f: its result holds an RRef inside another type: an RRef crosses on its own"),
  Rejected(
    "optional RRefDeque result", member: "  func f() -> Result<RRefDeque<Letter, 4>?, RpcError>",
    "P.f: its result holds an RRefDeque inside another type: an RRefDeque crosses on its own"),
  Rejected(
    "RRefDeque result without a count", member: "  func f() throws(RpcError) -> RRefDeque<Letter>",
    "P.f: its result is RRefDeque<Letter>: write RRefDeque<T, N>"),

  // Rule 9: nothing that crosses holds an address.
  Rejected(
    "StaticString", parameters: "_ text: StaticString",
    "P.f: parameter 'text' is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "qualified StaticString", parameters: "_ text: Swift.StaticString",
    "P.f: parameter 'text' is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "ObjectIdentifier", parameters: "_ id: ObjectIdentifier",
    "P.f: parameter 'id' is ObjectIdentifier, which is an object's address: what crosses holds no address"
  ),
  Rejected(
    "raw pointer", parameters: "_ pointer: UnsafeRawPointer",
    "P.f: parameter 'pointer' is UnsafeRawPointer, which is a raw pointer: what crosses holds no address"
  ),
  Rejected(
    "optional pointer", parameters: "_ pointer: Optional<UnsafePointer<Int>>",
    "P.f: parameter 'pointer' is UnsafePointer, which is a raw pointer: what crosses holds no address"
  ),
  Rejected(
    "OpaquePointer", parameters: "_ pointer: OpaquePointer?",
    "P.f: parameter 'pointer' is OpaquePointer, which is a raw pointer: what crosses holds no address"
  ),
  Rejected(
    "RRefTransfer", parameters: "_ transfer: RRefTransfer<RRef<Int>>",
    "P.f: parameter 'transfer' is RRefTransfer, which is the trusted library's raw form of a shared-heap reference: pass the RRef itself: what crosses holds no address"
  ),
  Rejected(
    "InterfaceHandle", parameters: "_ handle: InterfaceHandle",
    "P.f: parameter 'handle' is InterfaceHandle, which is a raw export slot: pass the interface's proxy: what crosses holds no address"
  ),
  Rejected(
    "metatype", parameters: "_ type: Int.Type",
    "P.f: parameter 'type' is a metatype (Int.Type), a type's address in the sender's image: what crosses holds no address"
  ),
  Rejected(
    "address in a tuple", parameters: "_ pair: (Int, ObjectIdentifier)",
    "P.f: parameter 'pair' is ObjectIdentifier, which is an object's address: what crosses holds no address"
  ),
  Rejected(
    "address as an inline array's element", parameters: "_ texts: InlineArray<4, StaticString>",
    "P.f: parameter 'texts' is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "address in an RRef", parameters: "_ text: consuming RRef<StaticString>",
    "P.f: parameter 'text' is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "address in a lent RRefArray", parameters: "_ ids: borrowing RRefArray<ObjectIdentifier, 4>",
    "P.f: parameter 'ids' is ObjectIdentifier, which is an object's address: what crosses holds no address"
  ),
  Rejected(
    "Never result", member: "  func f() -> Result<Never, RpcError>",
    "P.f: its result is Never, which has no values: a call must be able to answer: what crosses holds no address"
  ),
  Rejected(
    "throws Never", member: "  func f() throws(RpcError) -> Never",
    "P.f: its result is Never, which has no values: a call must be able to answer: what crosses holds no address"
  ),
  Rejected(
    "address result", member: "  func f() -> Result<UnsafeMutableRawPointer, RpcError>",
    "P.f: its result is UnsafeMutableRawPointer, which is a raw pointer: what crosses holds no address"
  ),
  Rejected(
    "address in an RRef result", member: "  func f() throws(RpcError) -> RRef<ObjectIdentifier>",
    "P.f: its result is ObjectIdentifier, which is an object's address: what crosses holds no address"
  ),
  Rejected(
    "address in a struct's field",
    source: """
      struct Holder {
        var count: Int
        var name: StaticString
        var computed: ObjectIdentifier { ObjectIdentifier(Int.self) }
        static var shared: StaticString = ""
      }
      protocol P {
        func f(_ holder: Holder) -> Result<Int, RpcError>
      }
      """, line: 8,
    "P.f: parameter 'holder' is Holder (P.swift:1), whose field 'name' (line 3) is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "address two structs down, in an RRef result",
    source: """
      struct Outer { var inner: Inner }
      struct Inner { let raw: UnsafeRawPointer? }
      protocol P {
        func f() -> Result<RRef<Outer>, RpcError>
      }
      """, line: 4,
    "P.f: its result is Outer (P.swift:1), whose field 'inner' (line 1) is Inner (P.swift:2), whose field 'raw' (line 2) is UnsafeRawPointer, which is a raw pointer: what crosses holds no address"
  ),
  Rejected(
    "address in an enum's case",
    source: """
      enum Choice {
        case number(Int)
        case text(StaticString, count: Int)
      }
      protocol P {
        func f(_ choice: Choice) -> Result<Int, RpcError>
      }
      """, line: 6,
    "P.f: parameter 'choice' is Choice (P.swift:1), whose case 'text' (line 3) holds a value that is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "address behind a typealias",
    source: """
      typealias Name = StaticString
      protocol P {
        func f() -> Result<Name, RpcError>
      }
      """, line: 3,
    "P.f: its result is Name (P.swift:1), which is an alias of a type that is StaticString, which points into the sender's image: what crosses holds no address"
  ),
  Rejected(
    "class of the interfaces",
    source: """
      final class Node {}
      protocol P {
        func f(_ node: Node?) -> Result<Int, RpcError>
      }
      """, line: 3,
    "P.f: parameter 'node' is Node (P.swift:1), a class: a reference into the sender's heap: what crosses holds no address"
  ),
  Rejected(
    "stored property of unwritten type",
    source: """
      struct Letter {
        var number = 0
      }
      protocol P {
        func f(_ letter: consuming RRef<Letter>) -> Result<Int, RpcError>
      }
      """, line: 5,
    "P.f: parameter 'letter' is Letter (P.swift:1), whose stored property 'number' does not write out its type, so it cannot be checked: write it: what crosses holds no address"
  ),
  // Rule 8: the Idempotent marker is well formed and not on a method that moves an RRef.
  Rejected(
    "Idempotent on a consuming RRef",
    member:
      "  /// Stamps it.\n  /// - Idempotent: stamping twice is harmless.\n  func f(_ letter: consuming RRef<Letter>) -> Result<Int, RpcError>",
    line: 4,
    "P.f is marked Idempotent but moves the RRef 'letter': the first try consumes it, so the call can never be retried"
  ),
  Rejected(
    "Idempotent on a consuming RRefDeque",
    member:
      "  /// - Idempotent: it only counts.\n  func f(_ batch: consuming RRefDeque<Letter, 4>) -> Result<Int, RpcError>",
    "P.f is marked Idempotent but moves the RRefDeque 'batch': the first try consumes it, so the call can never be retried"
  ),
  Rejected(
    "Idempotent without a colon", member: "  /// - Idempotent\n  func f() -> Result<Int, RpcError>",
    "P.f: write the marker as '- Idempotent: <why calling it twice is harmless>'"),
  Rejected(
    "Idempotent without a reason",
    member: "  /// - Idempotent:  \n  func f() -> Result<Int, RpcError>",
    "P.f: write the marker as '- Idempotent: <why calling it twice is harmless>'"),
  Rejected(
    "idempotent in lower case",
    member: "  /// - idempotent: reads.\n  func f() -> Result<Int, RpcError>",
    "P.f: write the marker as '- Idempotent: <why calling it twice is harmless>'"),
  Rejected(
    "Idempotent in a block comment without a reason",
    member: "  /**\n   Reads.\n   - Idempotent\n   */\n  func f() -> Result<Int, RpcError>",
    line: 5,
    "P.f: write the marker as '- Idempotent: <why calling it twice is harmless>'"),
]

@Suite struct RejectionTests {
  @Test(arguments: rejections)
  func rejected(_ case: Rejected) {
    #expect(rejection(`case`.source) == `case`.message, "source:\n\(`case`.source)")
  }

  @Test func theFineMethodIsFine() {
    #expect(rejection(protocolP("")) == nil)
  }

  /// Plain data of the interfaces' own, an enum that holds itself, and computed and
  /// static members of any type: nothing there is an address.
  @Test func plainDataOfTheInterfacesIsFine() {
    let source = """
      struct Point {
        var x: Int
        let y: Int
        var length: Int { x + y }
        static let origin = ObjectIdentifier(Int.self)
      }
      indirect enum Tree { case leaf(Point), node(Tree, Tree) }
      typealias Points = InlineArray<4, Point>
      protocol P {
        func f(_ points: Points, _ tree: Tree) -> Result<RRef<Point>, RpcError>
      }
      """
    #expect(rejection(source) == nil)
  }
}
