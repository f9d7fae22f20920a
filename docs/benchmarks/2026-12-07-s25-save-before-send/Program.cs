using System.Diagnostics;
using Parley.Client.EndToEnd;
// What E2eDevice.SaveBeforeSending adds per pairwise envelope in parley chat: one E2eDeviceDatabase.Save
// (the device row sealed, one transaction, WAL + synchronous=FULL) on a real file.
string dir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "savebench-" + Environment.ProcessId);
Directory.CreateDirectory(dir);
using E2eDevice device = E2eDevice.Create("alice");
using E2eDeviceDatabase db = new(Path.Combine(dir, "device.db"), "alice");
for (int i = 0; i < 50; i++) db.Save(device);
int n = 500;
long[] samples = new long[n];
for (int i = 0; i < n; i++) { long t = Stopwatch.GetTimestamp(); db.Save(device); samples[i] = Stopwatch.GetTimestamp() - t; }
Array.Sort(samples);
double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
Console.WriteLine($"saves={n} p50={Ms(samples[n / 2]):F3} ms p90={Ms(samples[n * 9 / 10]):F3} ms p99={Ms(samples[n * 99 / 100]):F3} ms mean={samples.Average() * 1000.0 / Stopwatch.Frequency:F3} ms  dir={dir}");
