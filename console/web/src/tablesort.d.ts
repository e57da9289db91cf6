declare module 'tablesort' {
  interface Tablesort {
    refresh(): void;
  }
  interface TablesortConstructor {
    new (table: HTMLTableElement, options?: { descending?: boolean }): Tablesort;
    extend(name: string, pattern: (s: string) => boolean, sort: (a: string, b: string) => number): void;
  }
  const Tablesort: TablesortConstructor;
  export default Tablesort;
}
