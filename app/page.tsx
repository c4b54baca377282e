export default function Home() {
  return (
    <main>
      <h1>Tollgate</h1>
      <p>Token metering for AI generation routes. See the README for the API.</p>
    </main>
  );
}
