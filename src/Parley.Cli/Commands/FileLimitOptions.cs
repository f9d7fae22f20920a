using System.CommandLine;
using Parley.Server.Hosting;

namespace Parley.Cli.Commands;

/// <summary>The <c>parley server</c> flags for files in transit (PROTOCOL.md §11.4, §11.8); defaults come from <see cref="ServerOptions"/>.</summary>
internal sealed class FileLimitOptions
{
    private const long Mib = 1024 * 1024;
    private static readonly ServerOptions Defaults = new();

    private readonly Option<long> _maxFile = new("--max-file-mib") { Description = "Largest file a user may send, in MiB (then file_too_large)", DefaultValueFactory = _ => Defaults.MaxFileBytes / Mib };
    private readonly Option<int> _uploads = new("--max-uploads-per-account") { Description = "Unfinished uploads one user may have (then too_many_uploads)", DefaultValueFactory = _ => Defaults.MaxUnfinishedUploadsPerAccount };
    private readonly Option<long> _uploadBytes = new("--max-upload-mib-per-account") { Description = "MiB those unfinished uploads may declare in all", DefaultValueFactory = _ => Defaults.MaxUnfinishedUploadBytesPerAccount / Mib };
    private readonly Option<double> _uploadExpiry = new("--upload-expiry-hours") { Description = "An upload with no new chunk for this long is deleted", DefaultValueFactory = _ => Defaults.UploadExpiry.TotalHours };
    private readonly Option<long> _inboxFiles = new("--max-inbox-file-mib") { Description = "MiB of files waiting for one user (then inbox_full)", DefaultValueFactory = _ => Defaults.MaxInboxFileBytes / Mib };
    private readonly Option<long> _fromOneSender = new("--max-inbox-file-mib-from-one-sender") { Description = "MiB of one user's files that files from one sender may hold (then inbox_full)", DefaultValueFactory = _ => Defaults.MaxInboxFileBytesFromOneSender / Mib };
    private readonly Option<long> _waiting = new("--max-waiting-file-mib") { Description = "MiB of sent files one user may have waiting for their recipients, each counted at least 64 KiB plus 4 KiB a recipient (then too_many_uploads)", DefaultValueFactory = _ => Defaults.MaxWaitingFileBytesPerUploader / Mib };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _maxFile, _uploads, _uploadBytes, _uploadExpiry, _inboxFiles, _fromOneSender, _waiting })
        {
            command.Options.Add(option);
        }
    }

    public ServerOptions Apply(ParseResult result, ServerOptions options)
    {
        double hours = result.GetValue(_uploadExpiry);
        return options with
        {
            MaxFileBytes = result.GetValue(_maxFile) * Mib,
            MaxUnfinishedUploadsPerAccount = result.GetValue(_uploads),
            MaxUnfinishedUploadBytesPerAccount = result.GetValue(_uploadBytes) * Mib,
            // Out-of-range values are refused with a clear message by the server's own check.
            UploadExpiry = hours is > 0 and <= 24 * 365 ? TimeSpan.FromHours(hours) : TimeSpan.Zero,
            MaxInboxFileBytes = result.GetValue(_inboxFiles) * Mib,
            MaxInboxFileBytesFromOneSender = result.GetValue(_fromOneSender) * Mib,
            MaxWaitingFileBytesPerUploader = result.GetValue(_waiting) * Mib,
        };
    }
}
