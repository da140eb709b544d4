/// Stand-ins for the fault library's simulated faults until they land: nothing planned.
enum PendingFaultPoint { case blockCompletion, frameCompletion, transmitCompletion }
enum PendingFaultKind { case wrongResult, lostCompletion, bogusCompletion }
enum PendingFaults {
  static func simulatedFault(at point: PendingFaultPoint) -> PendingFaultKind? { nil }
}
