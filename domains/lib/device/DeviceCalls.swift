/// The kernel calls behind device access: the device the manifest gives this domain.
///
/// The kernel answers only for the calling domain's own device (kernel/devices), so a
/// domain that owns none gets refusals, never another domain's device. Only the safe
/// wrappers in this module call these.

/// 0 if this domain owns a device; otherwise a negative `DeviceError` code.
@_extern(c, "swiftlet_device_status")
func kernelDeviceStatus() -> Int32

/// A configuration-space read of `width` (1, 2 or 4) bytes at `offset`; negative if
/// the read is refused.
@_extern(c, "swiftlet_device_config_read")
func kernelDeviceConfigRead(_ offset: Int, _ width: Int) -> Int64

/// BAR `index`'s mapped address and size: 0 and the values, or negative if it has no
/// memory BAR there.
@_extern(c, "swiftlet_device_bar")
func kernelDeviceBar(
  _ index: Int, _ address: UnsafeMutablePointer<UInt64>?, _ size: UnsafeMutablePointer<UInt64>?
) -> Int32

/// Blocks until the device has interrupted since the last call; returns how many
/// interrupts have arrived in all, or negative if it cannot wait.
@_extern(c, "swiftlet_device_wait_interrupt")
func kernelDeviceWaitInterrupt() -> Int64

/// How the device interrupts, as the kernel set it up: 1 MSI-X, 2 INTx, 0 not at all,
/// negative if this domain has no device.
@_extern(c, "swiftlet_device_interrupt_kind")
func kernelDeviceInterruptKind() -> Int32

/// A shared-heap allocation for DMA: `size` bytes at `alignment`, owned by this domain.
@_extern(c, "swiftlet_rref_alloc")
func kernelSharedAllocate(_ size: Int, _ alignment: Int, _ typeTag: UInt64)
  -> UnsafeMutableRawPointer?

@_extern(c, "swiftlet_rref_free")
func kernelSharedFree(_ payload: UnsafeMutableRawPointer?)

/// Waits for the device's interrupt for `timeoutNanoseconds` at most, giving the domain
/// back meanwhile; the interrupts that arrived (0: none), or negative if it cannot wait.
@_extern(c, "swiftlet_device_wait_interrupt_for")
func kernelDeviceWaitInterruptFor(_ timeoutNanoseconds: UInt64) -> Int64

/// Lets the device master the bus; 0, or negative if refused.
@_extern(c, "swiftlet_device_start_dma")
func kernelDeviceStartDMA() -> Int32
