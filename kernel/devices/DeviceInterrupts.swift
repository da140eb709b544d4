/// A handed-out device's interrupt: MSI-X where the device has it, else INTx.
///
/// MSI-X: the device gets a vector of its own; every entry of its table is programmed
/// with the same message (local APIC window, this CPU, that vector) and unmasked, so
/// whichever entries the driver tells the device to use, the interrupt arrives. Masking
/// is the function mask bit in message control.
///
/// INTx: the firmware wrote the ISA line the PIIX routes the pin to into the interrupt
/// line register (qboot and SeaBIOS use 10 and 11); the I/O APIC input of that number is
/// routed level-triggered. The line is shared, and a level interrupt stays asserted until
/// the driver (in its domain, later) services the device, so the handler cannot just
/// acknowledge: it finds the devices asserting (PCI 2.3 status bit), masks each with the
/// command register's interrupt-disable bit, which lowers its line, and counts. The
/// owner's next wait unmasks again, so it must service the device (lower its request)
/// before waiting. A device that cannot mask its INTx gets no interrupt.
import PCI

/// The devices sharing one INTx line, and what its handler saw.
final class INTxLine {
  let line: Int
  var devices: [Device] = []
  /// Set when an interrupt no device claimed masked the input (a stuck line would
  /// otherwise interrupt forever); a wait by an owner on the line unmasks it.
  var isMasked = false

  init(line: Int) { self.line = line }

  func handle() {
    var claimed = false
    for device in devices where DeviceInterrupts.takeINTx(device) { claimed = true }
    if !claimed {
      IOAPIC.mask(line)
      isMasked = true
    }
  }
}

enum DeviceInterrupts {
  nonisolated(unsafe) private static var lines: [INTxLine] = []

  /// Sets up the interrupt of a device being handed out: MSI-X unless `allowMSIX` is
  /// false or no vector is left, else INTx, else none.
  static func connect(_ device: Device, allowMSIX: Bool) {
    if allowMSIX, let msix = device.function.msix, connectMSIX(device, msix) { return }
    if let line = usableLine(device) {
      let entry = intxLine(line)
      withInterruptsDisabled { entry.devices.append(device) }
      device.interrupt = .intx(line: line)
      rearm(device)
      return
    }
    device.interrupt = .none
  }

  /// Turns the device's interrupt off for good (its owner releases it).
  static func disconnect(_ device: Device) {
    switch device.interrupt {
    case .msix:
      writeControl(device, device.function.msix!, enabled: false, masked: true)
    case .intx(let line):
      device.space.command = device.space.command.union(.interruptDisable)
      let entry = intxLine(line)
      withInterruptsDisabled { entry.devices.removeAll { $0 === device } }
    case .none:
      break
    }
    device.interrupt = .none
  }

  /// Stops the device interrupting, keeping the set-up (revocation).
  static func mask(_ device: Device) {
    switch device.interrupt {
    case .msix: writeControl(device, device.function.msix!, enabled: true, masked: true)
    case .intx: device.space.command = device.space.command.union(.interruptDisable)
    case .none: break
    }
  }

  /// Lets an MSI-X device interrupt again (re-grant). INTx stays masked until the owner
  /// waits: `rearm`.
  static func unmask(_ device: Device) {
    if case .msix = device.interrupt {
      writeControl(device, device.function.msix!, enabled: true, masked: false)
    }
  }

  /// Before the owner waits: lets an INTx device assert its line again, and unmasks the
  /// line if an unclaimed interrupt masked it.
  static func rearm(_ device: Device) {
    guard case .intx(let line) = device.interrupt else { return }
    device.space.command = device.space.command.subtracting(.interruptDisable)
    let entry = intxLine(line)
    withInterruptsDisabled {
      if entry.isMasked {
        entry.isMasked = false
        route(entry)
      }
    }
  }

  /// In the INTx handler: if `device` is asserting its line, masks it and counts.
  static func takeINTx(_ device: Device) -> Bool {
    let command = device.space.command
    guard !command.contains(.interruptDisable),
      device.space.status.contains(.interruptStatus)
    else { return false }
    device.space.command = command.union(.interruptDisable)
    device.delivered &+= 1
    device.event.signal()
    return true
  }

  // MARK: - MSI-X

  private static func connectMSIX(_ device: Device, _ msix: MSIXCapability) -> Bool {
    guard let table = device.function.bar(msix.tableBAR),
      let vector = device.msixVector ?? Interrupts.allocateDeviceVector()
    else { return false }
    device.msixVector = vector
    Interrupts.register(vector: vector) { _ in
      device.delivered &+= 1
      device.event.signal()
    }
    let message = InterruptMessage(vector: UInt8(vector), apicID: UInt8(LocalAPIC.apicID))
    writeControl(device, msix, enabled: true, masked: true)
    for entry in 0..<msix.tableSize {
      let address = table.base + msix.entryOffset(entry)
      CPU.write32(
        address + UInt64(MSIXCapability.entryAddressLow),
        UInt32(truncatingIfNeeded: message.address))
      CPU.write32(address + UInt64(MSIXCapability.entryAddressHigh), UInt32(message.address >> 32))
      CPU.write32(address + UInt64(MSIXCapability.entryData), message.data)
      CPU.write32(address + UInt64(MSIXCapability.entryVectorControl), 0)
    }
    writeControl(device, msix, enabled: true, masked: false)
    device.interrupt = .msix(vector: vector)
    return true
  }

  private static func writeControl(
    _ device: Device, _ msix: MSIXCapability, enabled: Bool, masked: Bool
  ) {
    var control = device.space.read16(msix.messageControlOffset)
    control &= ~(MSIXCapability.enableBit | MSIXCapability.functionMaskBit)
    if enabled { control |= MSIXCapability.enableBit }
    if masked { control |= MSIXCapability.functionMaskBit }
    device.space.write16(msix.messageControlOffset, control)
  }

  // MARK: - INTx

  /// The I/O APIC input the device's INTx reaches, if it has one it can mask.
  private static func usableLine(_ device: Device) -> Int? {
    let line = Int(device.header.interruptLine)
    guard device.header.interruptPinName != nil, line > 0, line < IOAPIC.inputCount,
      line != Serial.irq
    else { return nil }
    // PCI 2.3 devices implement the interrupt-disable bit; older ones read it as 0.
    device.space.command = device.space.command.union(.interruptDisable)
    guard device.space.command.contains(.interruptDisable) else {
      Log.warning("pci \(device.address.description): cannot mask its INTx: no interrupt")
      return nil
    }
    return line
  }

  /// The line's entry, routed on first use.
  private static func intxLine(_ line: Int) -> INTxLine {
    if let entry = lines.first(where: { $0.line == line }) { return entry }
    let entry = INTxLine(line: line)
    lines.append(entry)
    route(entry)
    return entry
  }

  private static func route(_ entry: INTxLine) {
    Interrupts.enableIRQ(entry.line, levelTriggered: true) { _ in entry.handle() }
  }
}
