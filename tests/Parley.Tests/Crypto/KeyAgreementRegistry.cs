using Parley.Crypto.KeyAgreement;

namespace Parley.Tests.Crypto;

/// <summary>Every implementation of every group, so contract tests run over all of them (NSec's Registry).</summary>
public static class KeyAgreementRegistry
{
    public static TheoryData<string> AllImplementations()
    {
        TheoryData<string> data = [];
        foreach (KeyAgreementAlgorithm algorithm in KeyAgreementAlgorithms.All.Concat(KeyAgreementAlgorithms.Alternatives).Concat(KeyAgreementAlgorithms.Managed).Distinct())
        {
            data.Add(Key(algorithm));
        }
        return data;
    }

    public static string Key(KeyAgreementAlgorithm algorithm) => $"{algorithm.Name}/{algorithm.Implementation}";

    public static KeyAgreementAlgorithm Resolve(string key) =>
        KeyAgreementAlgorithms.All.Concat(KeyAgreementAlgorithms.Alternatives).Concat(KeyAgreementAlgorithms.Managed).First(a => Key(a) == key);

    public static KeyAgreementAlgorithm[] Implementations(string name) =>
        KeyAgreementAlgorithms.All.Concat(KeyAgreementAlgorithms.Alternatives).Concat(KeyAgreementAlgorithms.Managed).Where(a => a.Name == name).Distinct().ToArray();
}
