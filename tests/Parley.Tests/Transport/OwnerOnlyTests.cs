using Parley.Tests.Support;
using Parley.Transport.Files;

namespace Parley.Tests.Transport;

/// <summary>The one helper every secret file goes through (keys, tokens, trust files, the database).</summary>
public class OwnerOnlyTests
{
    [Theory]
    [InlineData(FileMode.CreateNew)]
    [InlineData(FileMode.Create)]
    [InlineData(FileMode.Append)]
    public void A_new_file_is_owner_read_write_only(FileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        using TempDirectory temp = new();
        string path = temp.File("secret");
        using (FileStream stream = OwnerOnly.OpenWrite(path, mode))
        {
            stream.WriteByte(1);
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.False(OwnerOnly.IsExposed(path));
    }

    [Fact]
    public void Nested_new_folders_are_owner_only_and_an_existing_folder_is_left_alone()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        using TempDirectory temp = new();
        string existing = temp.File("shared");
        Directory.CreateDirectory(existing);
        File.SetUnixFileMode(existing, OwnerOnly.DirectoryMode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        string nested = Path.Combine(existing, "a", "b");

        OwnerOnly.CreateDirectory(nested);

        UnixFileMode rwx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(rwx, File.GetUnixFileMode(nested));
        Assert.Equal(rwx, File.GetUnixFileMode(Path.GetDirectoryName(nested)!));
        Assert.Equal(rwx | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(existing));
    }

    [Fact]
    public void A_file_others_can_read_is_reported_as_exposed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        using TempDirectory temp = new();
        string path = temp.File("secret");
        using (OwnerOnly.OpenWrite(path, FileMode.CreateNew))
        {
        }
        File.SetUnixFileMode(path, OwnerOnly.FileMode | UnixFileMode.OtherRead);
        Assert.True(OwnerOnly.IsExposed(path));
    }
}
