/// Which UDP ports have a socket, in numbered slots with generations: a slot's number
/// with an old generation (a closed socket, or one from before the stack restarted,
/// whose first generation is seeded differently) is refused, never taken for the
/// socket that has the slot now.

/// A socket the stack opened: a slot and the generation it was opened in. It crosses
/// calls (DatagramSockets), hence one definition, here.
public struct UDPSocket: Equatable, Sendable, BitwiseCopyable {
  public var slot: UInt16
  public var generation: UInt32

  public init(slot: UInt16, generation: UInt32) {
    self.slot = slot
    self.generation = generation
  }
}

/// Why the stack refused a socket call: the code of `RpcError.failed(code:)` in
/// DatagramSockets.
public enum SocketError: Int32, Error, Equatable, Sendable, BitwiseCopyable {
  /// Another socket is bound to the port.
  case portInUse = 1
  /// The stack has no room for another socket.
  case noRoom = 2
  /// No such socket: closed, never opened, or opened before the stack restarted.
  /// Open a new one.
  case badSocket = 3
  /// Port 0 (the stack does not pick ports).
  case badPort = 4
}

struct SocketTable {
  struct Socket {
    var port: UInt16
    var generation: UInt32
    /// Who opened it (an opaque number the stack's caller gives, e.g. a domain and its
    /// life), so a port held by an owner that has died can be taken back.
    var owner: UInt64
  }

  static var capacity: Int { 16 }

  private var sockets = InlineArray<16, Socket?>(repeating: nil)
  private var nextGeneration: UInt32

  init(firstGeneration: UInt32) { nextGeneration = firstGeneration }

  /// Opens a socket on `port` for `owner` (0: nobody in particular).
  @inline(__always)
  mutating func open(port: UInt16, owner: UInt64 = 0) -> Result<UDPSocket, SocketError> {
    guard port != 0 else { return .failure(.badPort) }
    guard socket(for: port) == nil else { return .failure(.portInUse) }
    guard let slot = freeSlot() else { return .failure(.noRoom) }
    let generation = nextGeneration
    nextGeneration &+= 1
    sockets[slot] = Socket(port: port, generation: generation, owner: owner)
    return .success(UDPSocket(slot: UInt16(slot), generation: generation))
  }

  @inline(__always)
  func port(of handle: UDPSocket) -> UInt16? {
    let slot = Int(handle.slot)
    guard sockets.indices.contains(slot), let socket = sockets.span[slot],
      socket.generation == handle.generation
    else { return nil }
    return socket.port
  }

  @inline(__always)
  mutating func close(_ handle: UDPSocket) -> Bool {
    guard port(of: handle) != nil else { return false }
    sockets[Int(handle.slot)] = nil
    return true
  }

  @inline(__always)
  func freeSlot() -> Int? {
    let table = sockets.span
    for slot in table.indices where table[slot] == nil { return slot }
    return nil
  }

  /// The open socket bound to `port`.
  /// Who opened the socket bound to `port`, if one is.
  func owner(of port: UInt16) -> UInt64? {
    guard let socket = socket(for: port) else { return nil }
    return sockets.span[Int(socket.slot)]?.owner
  }

  @inline(__always)
  func socket(for port: UInt16) -> UDPSocket? {
    let table = sockets.span
    for slot in table.indices {
      if let socket = table[slot], socket.port == port {
        return UDPSocket(slot: UInt16(slot), generation: socket.generation)
      }
    }
    return nil
  }
}
