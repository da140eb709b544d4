// What the generator knows about an interface: its methods, their parameters and
// results, each sorted into the kinds that may cross a domain boundary.

/// How a value crosses a call.
public enum CrossingKind: Equatable, Sendable {
  /// Copied: a plain-data (BitwiseCopyable) value. The compiler checks that it is.
  case value
  /// An RRef, RRefArray or RRefDeque whose ownership moves to the receiver
  /// (`consuming RRef<T>`, or such a result, which moves to the caller); a deque's
  /// elements move with it. `payload` is `T`.
  case movedRRef(payload: String)
  /// An RRef or RRefArray lent for the call (`borrowing RRef<T>`): its owner keeps it.
  case borrowedRRef(payload: String)
  /// A reference to another interface, as its proxy (`GreeterProxy`).
  case interface(String)
}

public struct Parameter: Equatable, Sendable {
  /// The argument label callers write (nil for `_`).
  public var label: String?
  /// The name inside the method.
  public var name: String
  /// The type as written, without ownership modifiers.
  public var type: String
  public var kind: CrossingKind

  public init(label: String?, name: String, type: String, kind: CrossingKind) {
    self.label = label
    self.name = name
    self.type = type
    self.kind = kind
  }
}

public struct Method: Equatable, Sendable {
  public var name: String
  /// The method's index in its interface: the number its calls carry.
  public var index: Int
  public var parameters: [Parameter]
  /// The success type: "Void" for none.
  public var resultType: String
  public var resultKind: CrossingKind
  /// Declared `throws(RpcError) -> T` rather than `-> Result<T, RpcError>`.
  public var throwsRpcError: Bool
  /// Its doc comment says `- Idempotent:`: calling it twice does what calling it once
  /// does, so the shadow may retry it after restarting the callee.
  public var isIdempotent: Bool

  public init(
    name: String, index: Int, parameters: [Parameter], resultType: String,
    resultKind: CrossingKind, throwsRpcError: Bool, isIdempotent: Bool = false
  ) {
    self.name = name
    self.index = index
    self.parameters = parameters
    self.resultType = resultType
    self.resultKind = resultKind
    self.throwsRpcError = throwsRpcError
    self.isIdempotent = isIdempotent
  }
}

public struct Interface: Equatable, Sendable {
  public var name: String
  public var methods: [Method]
  /// Where it was declared, for messages.
  public var file: String
  public var line: Int

  public init(name: String, methods: [Method], file: String, line: Int = 1) {
    self.name = name
    self.methods = methods
    self.file = file
    self.line = line
  }
}

/// A signature that cannot cross a domain boundary, or a manifest that does not fit
/// the interfaces: always with the place and the reason.
public struct GeneratorError: Error, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var reason: String

  public init(file: String, line: Int, reason: String) {
    self.file = file
    self.line = line
    self.reason = reason
  }

  public var description: String { "\(file):\(line): error: \(reason)" }
}
