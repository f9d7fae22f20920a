using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// PROTOCOL.md §11.4: names are ASCII only. Trim ASCII white space, lower-case A–Z, refuse any other
/// character with a reason; no Unicode mapping happens, so look-alikes are refused, not folded.
/// </summary>
public class UsernameTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice", "alice")]
    [InlineData("  BOB\t", "bob")]
    [InlineData("carol.smith_2-b", "carol.smith_2-b")]
    [InlineData("0day", "0day")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345")]
    public void The_spec_examples_give_their_canonical_name(string input, string canonical)
    {
        Assert.True(Usernames.TryNormalize(input, out string username, out string error), error);
        Assert.Equal(canonical, username);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(".alice")]
    [InlineData("-alice")]
    [InlineData("bad name!")]
    [InlineData("al ice")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void Names_outside_the_ascii_rules_are_refused_with_the_rules(string input)
    {
        Assert.False(Usernames.TryNormalize(input, out string username, out string error));
        Assert.Equal("", username);
        Assert.Contains(Usernames.Rules, error);
    }

    [Theory]
    [InlineData("\uFF41\uFF4C\uFF49\uFF43\uFF45", "U+FF41")] // full-width "alice", which NFKC would fold to "alice"
    [InlineData("\uFF21\uFF2C\uFF29\uFF23\uFF25", "U+FF21")] // full-width "ALICE"
    [InlineData("\u0430lice", "U+0430")]                     // Cyrillic а
    [InlineData("b\u043Eb", "U+043E")]                       // Cyrillic о
    [InlineData("\u0391LICE", "U+0391")]                     // Greek capital alpha
    [InlineData("alice\u200B", "U+200B")]                    // zero-width space
    [InlineData("\u3000alice", "U+3000")]                    // ideographic space is not trimmed
    [InlineData("\u212Aelvin", "U+212A")]                    // Kelvin sign, which Unicode lower-cases to 'k'
    [InlineData("ali\u0307ce", "U+0307")]                    // combining dot above
    [InlineData("alice\uD800", "U+FFFD")]                    // lone surrogate
    public void Non_ascii_look_alikes_are_refused_with_the_code_point(string input, string codePoint)
    {
        Assert.False(Usernames.TryNormalize(input, out string username, out string error));
        Assert.Equal("", username);
        Assert.Contains(codePoint, error);
        Assert.Contains("not ASCII", error);
        Assert.DoesNotContain('\u200B', error);
        Assert.DoesNotContain('\u3000', error);
    }

    [Fact]
    public async Task A_look_alike_cannot_log_in_as_an_existing_user_and_gets_a_clear_error()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();

        foreach (string lookAlike in new[] { "\u0430lice", "\uFF41\uFF4C\uFF49\uFF43\uFF45" })
        {
            await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
            LoginResult result = await client.LoginAsync(lookAlike, "correct horse", null).WithTimeout();
            Assert.False(result.Success);
            Assert.Contains("not ASCII", result.Error);
        }

        await using ChatClient upperCase = await server.LoginAsync("ALICE");
        Assert.Equal(["alice"], await upperCase.ListAsync().WithTimeout());
    }
}
