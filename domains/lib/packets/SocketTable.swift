/// Which UDP ports have a socket, in numbered slots with generations: a slot's number
/// with an old generation (a closed socket, or one from before the stack restarted,
/// whose first generation is seeded differently) is refused, never taken for the
/// socket that has the slot now.

public struct SocketHandle: Equatable, Sendable {
  public var slot: Int
  public var generation: UInt32

  public init(slot: Int, generation: UInt32) {
    self.slot = slot
    self.generation = generation
  }
}

public enum SocketRefusal: Error, Equatable, Sendable {
  case portInUse
  case noRoom
  case badPort
  case badSocket
}

struct SocketTable {
  struct Socket {
    var port: UInt16
    var generation: UInt32
  }

  static var capacity: Int { 16 }

  private var sockets = InlineArray<16, Socket?>(repeating: nil)
  private var nextGeneration: UInt32

  init(firstGeneration: UInt32) { nextGeneration = firstGeneration }

  mutating func open(port: UInt16) -> Result<SocketHandle, SocketRefusal> {
    guard port != 0 else { return .failure(.badPort) }
    guard slot(for: port) == nil else { return .failure(.portInUse) }
    for slot in sockets.indices where sockets[slot] == nil {
      let generation = nextGeneration
      nextGeneration &+= 1
      sockets[slot] = Socket(port: port, generation: generation)
      return .success(SocketHandle(slot: slot, generation: generation))
    }
    return .failure(.noRoom)
  }

  func port(of handle: SocketHandle) -> UInt16? {
    guard sockets.indices.contains(handle.slot), let socket = sockets[handle.slot],
      socket.generation == handle.generation
    else { return nil }
    return socket.port
  }

  func isOpen(_ handle: SocketHandle) -> Bool { port(of: handle) != nil }

  mutating func close(_ handle: SocketHandle) -> Bool {
    guard isOpen(handle) else { return false }
    sockets[handle.slot] = nil
    return true
  }

  /// The open socket bound to `port`.
  func socket(for port: UInt16) -> SocketHandle? {
    for slot in sockets.indices {
      if let socket = sockets[slot], socket.port == port {
        return SocketHandle(slot: slot, generation: socket.generation)
      }
    }
    return nil
  }

  private func slot(for port: UInt16) -> Int? { socket(for: port)?.slot }
}
