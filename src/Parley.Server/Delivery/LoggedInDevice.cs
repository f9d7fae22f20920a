namespace Parley.Server.Delivery;

/// <summary>
/// Who a connection speaks for after login: a user and one of its devices (the id of the device
/// token used or issued). Presence, the inbox cursor and acknowledgements are per device.
/// </summary>
public readonly record struct LoggedInDevice(string User, string DeviceId);
