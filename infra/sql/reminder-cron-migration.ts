export const renderReminderCronMigration = () => "-- placeholder\nselect 1;\n";
